//! Bounds the README promises, kept whatever the input or the server does: answers as large
//! as the request makes them.

mod support;

use hubspot_emulator::Settings;
use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_whose_answers_echo_60000_character_values_are_stored_and_not_resent() {
    let (hub, work, config) = start(Settings::default(), json!({})).await;
    // Three legal 60,000-character values a record (HubSpot takes 65,536): each batch's
    // answer echoes ~18 MB, more than the 16 MiB a bodiless request may answer.
    let long = |c: char, i: usize| format!("{i:05}{}", c.to_string().repeat(59_995));
    let mut lines = vec![schema("contacts")];
    lines.extend((0..300).map(|i| {
        record(
            "contacts",
            json!({"email": format!("long{i}@example.com"), "firstname": long('f', i),
                "lastname": long('l', i), "city": long('c', i)}),
        )
    }));
    lines.push(state(json!({"done": 300})));
    let out = run_config(&config, &singer(&lines)).await;
    assert_eq!(out.code, Some(0), "{}", out.critical());
    assert_eq!(out.states(), [json!({"done": 300})]);
    assert!(work.rejected().is_empty(), "nothing rejected");
    let stored = stored(&hub.base_url(), "contacts").await;
    assert_eq!(stored.len(), 300);
    for c in &stored {
        let email = c["properties"]["email"].as_str().unwrap();
        let i: usize = email["long".len()..email.find('@').unwrap()]
            .parse()
            .unwrap();
        assert_eq!(c["properties"]["firstname"], long('f', i));
        assert_eq!(c["properties"]["city"], long('c', i));
    }
    let stats = stats(&hub.base_url()).await;
    assert_eq!(
        stats["by_route"]["POST /crm/objects/2026-09/{object_type}/batch/upsert"], 3,
        "each batch sent once: {stats}"
    );
}
