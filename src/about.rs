//! `--about`: name, version, capabilities and every setting (secrets flagged, never valued).

use serde_json::{Map, Value, json};

use crate::config::{SETTINGS, SettingKind};

/// Capabilities in Meltano's vocabulary: `--about`, and `--log-format json` lines that
/// Meltano's parser reads (see [`crate::output::logline`]).
pub const CAPABILITIES: &[&str] = &["about", "structured-logging"];

fn json_type(kind: SettingKind) -> &'static str {
    match kind {
        SettingKind::String => "string",
        SettingKind::Integer => "integer",
        SettingKind::Number => "number",
        SettingKind::Boolean => "boolean",
        SettingKind::Object => "object",
    }
}

/// The `--about --format json` document, shaped like the Meltano SDK's.
pub fn json() -> Value {
    let mut properties = Map::new();
    for s in SETTINGS {
        let mut p = json!({"type": [json_type(s.kind), "null"], "description": s.description});
        if let Some(default) = s
            .default
            .and_then(|d| serde_json::from_str::<Value>(d).ok())
        {
            p["default"] = default;
        }
        if s.secret {
            p["secret"] = json!(true);
            p["writeOnly"] = json!(true);
        }
        properties.insert(s.name.to_string(), p);
    }
    json!({
        "name": "target-hubspot",
        "description": env!("CARGO_PKG_DESCRIPTION"),
        "version": env!("CARGO_PKG_VERSION"),
        "sdk_version": null,
        "capabilities": CAPABILITIES,
        "settings": {"type": "object", "properties": properties},
    })
}

/// The `--about --format markdown` document.
pub fn markdown() -> String {
    let mut out = format!(
        "# target-hubspot {}\n\n{}\n\nCapabilities: {}\n\n| Setting | Type | Default | Secret | Description |\n|---|---|---|---|---|\n",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_DESCRIPTION"),
        CAPABILITIES.join(", ")
    );
    for s in SETTINGS {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            s.name,
            json_type(s.kind),
            s.default
                .map(|d| format!("`{d}`"))
                .unwrap_or_else(|| "—".into()),
            if s.secret { "yes" } else { "no" },
            s.description.replace('|', "\\|")
        ));
    }
    out
}
