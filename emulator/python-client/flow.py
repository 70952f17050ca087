"""A realistic flow of HubSpot's official Python client (hubspot-api-client 12) against the
emulator: `python3 flow.py BASE_URL`. Exits non-zero on any exception other than the HubSpot
errors the flow provokes on purpose (each checked for its status and category).

Run through `run.sh`, which builds the emulator, installs the client in a fresh virtual
environment and starts both.
"""

import json
import sys
import time

from hubspot import HubSpot
from hubspot.crm.associations.v4 import AssociationSpec
from hubspot.crm.contacts import (
    ApiException as ContactsApiException,
    BatchInputSimplePublicObjectBatchInputUpsert,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.lists import ListCreateRequest, MembershipChangeRequest
from hubspot.crm.objects.notes import (
    PublicAssociationsForObject,
    PublicObjectId,
    SimplePublicObjectInputForCreate as NoteInput,
)
from hubspot.crm.objects.notes import AssociationSpec as NoteAssociationSpec
from hubspot.crm.properties import PropertyCreate

STEPS = []


def step(name):
    def wrap(f):
        STEPS.append((name, f))
        return f

    return wrap


def expect_error(call, status, category):
    """Runs `call`, which must fail with HubSpot's `status` and `category`."""
    try:
        call()
    except Exception as e:  # every generated package has its own ApiException
        body = json.loads(getattr(e, "body", "") or "{}")
        assert getattr(e, "status", None) == status, (e.status, e.body)
        assert body.get("category") == category, body
        return body
    raise AssertionError(f"expected a {status} {category}")


def main(base_url):
    client = HubSpot(access_token="pat-na1-python-client-flow", host=base_url)
    state = {}

    @step("create a contact")
    def _():
        created = client.crm.contacts.basic_api.create(
            SimplePublicObjectInputForCreate(
                properties={"email": "ada@example.com", "firstname": "Ada", "lastname": "Lovelace"}
            )
        )
        state["contact"] = created.id
        assert created.properties["email"] == "ada@example.com"

    @step("read it with several properties (repeated query parameters)")
    def _():
        got = client.crm.contacts.basic_api.get_by_id(
            state["contact"], properties=["firstname", "lastname"], archived=False
        )
        assert got.properties["firstname"] == "Ada", got.properties
        assert got.properties["lastname"] == "Lovelace", got.properties
        by_email = client.crm.contacts.basic_api.get_by_id(
            "ada@example.com", id_property="email", properties=["email"]
        )
        assert by_email.id == state["contact"]

    @step("update it")
    def _():
        updated = client.crm.contacts.basic_api.update(
            state["contact"], SimplePublicObjectInput(properties={"city": "London"})
        )
        assert updated.properties["city"] == "London"

    @step("batch upsert by email")
    def _():
        batch = client.crm.contacts.batch_api.upsert(
            BatchInputSimplePublicObjectBatchInputUpsert(
                inputs=[
                    SimplePublicObjectBatchInputUpsert(
                        id="ada@example.com", id_property="email", properties={"jobtitle": "Analyst"}
                    ),
                    SimplePublicObjectBatchInputUpsert(
                        id="grace@example.com", id_property="email", properties={"firstname": "Grace"}
                    ),
                ]
            )
        )
        assert sorted(r.new for r in batch.results) == [False, True], batch.results

    @step("page through contacts")
    def _():
        page = client.crm.contacts.basic_api.get_page(limit=1, properties=["email", "firstname"])
        assert len(page.results) == 1 and page.paging.next.after
        every = client.crm.contacts.get_all(properties=["email"])
        assert len(every) == 2, every

    @step("search, once the index has caught up")
    def _():
        request = PublicObjectSearchRequest(
            filter_groups=[FilterGroup(filters=[Filter(property_name="email", operator="EQ", value="grace@example.com")])],
            properties=["email", "firstname"],
        )
        for _ in range(20):  # at most 4 searches a second: HubSpot limits search separately
            found = client.crm.contacts.search_api.do_search(public_object_search_request=request)
            if found.total:
                break
            time.sleep(0.3)
        assert found.total == 1 and found.results[0].properties["firstname"] == "Grace"

    @step("create a unique-value property and upsert a company by it")
    def _():
        client.crm.properties.core_api.create(
            "companies",
            PropertyCreate(
                name="external_id", label="External ID", type="string", field_type="text",
                group_name="companyinformation", has_unique_value=True,
            ),
        )
        names = [p.name for p in client.crm.properties.core_api.get_all("companies").results]
        assert "external_id" in names
        from hubspot.crm.companies import (
            BatchInputSimplePublicObjectBatchInputUpsert as CompanyUpserts,
            SimplePublicObjectBatchInputUpsert as CompanyUpsert,
        )

        done = client.crm.companies.batch_api.upsert(
            CompanyUpserts(inputs=[CompanyUpsert(id="A-1", id_property="external_id", properties={"name": "Analytical Engines"})])
        )
        state["company"] = done.results[0].id

    @step("associate the contact with the company (v4) and read it back")
    def _():
        client.crm.associations.v4.basic_api.create(
            "contacts", state["contact"], "companies", state["company"],
            [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=279)],
        )
        page = client.crm.associations.v4.basic_api.get_page("contacts", state["contact"], "companies")
        assert [str(r.to_object_id) for r in page.results] == [state["company"]], page

    @step("create a note associated with the contact")
    def _():
        note = client.crm.objects.notes.basic_api.create(
            NoteInput(
                properties={"hs_timestamp": "2024-01-15T10:00:00Z", "hs_note_body": "Met at the conference"},
                associations=[
                    PublicAssociationsForObject(
                        to=PublicObjectId(id=state["contact"]),
                        types=[NoteAssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=202)],
                    )
                ],
            )
        )
        assert note.properties["hs_note_body"] == "Met at the conference"

    @step("a list: create, add the contact, read the members")
    def _():
        created = client.crm.lists.lists_api.create(
            ListCreateRequest(name="Newsletter", object_type_id="0-1", processing_type="MANUAL")
        )
        list_id = created.list.list_id
        client.crm.lists.memberships_api.add_and_remove(
            list_id, MembershipChangeRequest(record_ids_to_add=[state["contact"]], record_ids_to_remove=[])
        )
        members = client.crm.lists.memberships_api.get_page_ordered_by_added_to_list_date(list_id)
        assert [m.record_id for m in members.results] == [state["contact"]], members

    @step("HubSpot's refusals, on purpose")
    def _():
        body = expect_error(
            lambda: client.crm.contacts.basic_api.create(
                SimplePublicObjectInputForCreate(properties={"email": "not-an-email"})
            ),
            400, "VALIDATION_ERROR",
        )
        assert "INVALID_EMAIL" in body["message"], body
        expect_error(
            lambda: client.crm.contacts.basic_api.create(
                SimplePublicObjectInputForCreate(properties={"email": "ada@example.com"})
            ),
            409, "CONFLICT",
        )
        expect_error(
            lambda: client.crm.contacts.batch_api.upsert(
                BatchInputSimplePublicObjectBatchInputUpsert(
                    inputs=[SimplePublicObjectBatchInputUpsert(id="x", id_property="firstname", properties={})]
                )
            ),
            400, "VALIDATION_ERROR",
        )
        try:
            client.crm.contacts.basic_api.get_by_id("424242")
        except ContactsApiException as e:
            assert e.status == 404
        else:
            raise AssertionError("expected a 404")

    @step("archive the contact; it reads back only with archived=true")
    def _():
        client.crm.contacts.basic_api.archive(state["contact"])
        gone = client.crm.contacts.basic_api.get_by_id(state["contact"], archived=True)
        assert gone.archived is True

    for name, f in STEPS:
        f()
        print(f"ok   {name}")
    print(f"hubspot-api-client flow: {len(STEPS)} steps passed")


if __name__ == "__main__":
    main(sys.argv[1])
