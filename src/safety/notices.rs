//! How rectification orders read in the notices about them.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::safety::model::RectificationRow;

/// The items of orders as the templates list them.
pub fn describe_orders(orders: &[&RectificationRow], titles: &HashMap<String, (String, String)>) -> Vec<Value> {
    orders
        .iter()
        .map(|o| {
            let (zh, en) = titles.get(&o.item_code).cloned().unwrap_or_default();
            json!({"code": o.item_code, "title_zh": zh, "title_en": en, "severity": o.severity, "due_on": o.due_on})
        })
        .collect()
}
