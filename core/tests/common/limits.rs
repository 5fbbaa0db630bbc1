//! Per-patient limits that never bind, for tests of something else that book at random
//! (stress, models, crash and retention tests). One file, included by both shared test
//! modules (`common`, `durability_support`).

use haoyuan::{GroupDates, LimitPolicy};

pub fn limits_out_of_the_way() -> LimitPolicy {
    LimitPolicy {
        per_department_day: 1000,
        per_visit_date: 1000,
        per_seven_days: 1000,
        total_active: 1000,
        group_dates: GroupDates::First,
    }
}
