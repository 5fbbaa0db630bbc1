//! The open release lotteries (state): the tickets entered per release instant, until their
//! draw (`lottery.rs` enters and draws them).

use crate::ids::*;
use crate::model::Request;
use crate::time::Timestamp;
use dashmap::DashMap;
use std::collections::HashSet;
use std::sync::atomic::AtomicU64;

/// One entry into a release's draw.
pub(crate) struct Ticket {
    pub id: TicketId,
    pub request: Request,
    pub weight: f64,
}

#[derive(Default)]
pub(crate) struct Draw {
    pub draws_at: Timestamp,
    pub tickets: Vec<Ticket>,
    pub entered: HashSet<(PatientId, SlotId)>,
}

/// Open lotteries by release instant.
#[derive(Default)]
pub(crate) struct Lotteries {
    pub(crate) open: DashMap<Timestamp, Draw>,
    pub(crate) next_ticket: AtomicU64,
}
