//! Read calls that the Rust API has and C lacked: the registry's getters and lists, a
//! patient's bookings and record, a department's waitlist, who holds a slot. Each is a thin
//! conversion around the `Engine` method of the same name.
//!
//! Lists come out as the other array reads do (`hy_engine_free_places_by_day`): into the
//! caller's array `out` of `cap` entries, `*written_out` the count. When `cap` is smaller than
//! the list, the result is HY_BUFFER_TOO_SMALL with the count needed in `*written_out` and
//! `out` untouched; so a call with `cap` 0 (and `out` NULL) asks for the count alone. The list
//! may grow between two calls (the engine is shared): call again on HY_BUFFER_TOO_SMALL.

use crate::engine::{hy_engine, try_engine, HY_ARRAY_MAX};
use crate::error::{hy_result, set_last_error};
use crate::ffi::{ffi_panic_boundary, try_out, try_slice, try_slice_mut};
use crate::types::*;
use haoyuan_core::*;

/// Write `items` (converted by `conv`) into (`out`, `cap`) and their count into `*written_out`,
/// or report HY_BUFFER_TOO_SMALL with the count needed. Every pointer is checked before
/// `items` is computed.
fn list_out<S, T>(
    out: *mut T,
    cap: usize,
    written_out: *mut usize,
    items: impl FnOnce() -> Result<Vec<S>, hy_result>,
    conv: impl Fn(&S) -> T,
) -> Result<(), hy_result> {
    let written = try_out(written_out, "written_out")?;
    let dst = try_slice_mut(out, cap, HY_ARRAY_MAX, "out")?;
    let items = items()?;
    if items.len() > dst.len() {
        set_last_error(format!("{} entries needed; cap is {cap}", items.len()));
        written.set(items.len());
        return Err(hy_result::HY_BUFFER_TOO_SMALL);
    }
    for (d, s) in dst.iter_mut().zip(&items) {
        *d = conv(s);
    }
    written.set(items.len());
    Ok(())
}

fn institution_to(e: &Engine, i: &Institution) -> hy_institution {
    hy_institution {
        id: i.id.0,
        tier: tier_to(i.tier),
        name: name_field(&i.name),
        district: name_field(&e.district_name(i.district).unwrap_or_default()),
    }
}

fn department_to(e: &Engine, d: &Department) -> hy_department {
    hy_department {
        id: d.id.0,
        institution: d.institution.0,
        specialty: name_field(&e.specialty_name(d.specialty).unwrap_or_default()),
        name: name_field(&d.name),
    }
}

fn resource_to(r: &Resource) -> hy_resource {
    hy_resource {
        id: r.id.0,
        department: r.department.0,
        kind: resource_kind_to(r.kind),
        expert: r.expert,
        name: name_field(&r.name),
    }
}

// ------------------------------------------------------------------ registry

/// One institution by id (HY_NOT_FOUND if there is none).
#[no_mangle]
pub extern "C" fn hy_engine_institution(
    engine: *const hy_engine,
    institution: hy_institution_id,
    institution_out: *mut hy_institution,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = try_out(institution_out, "institution_out")?;
        let i = e.institution(InstitutionId(institution))?;
        out.set(institution_to(e, &i));
        Ok(())
    }
}

/// One department by id (HY_NOT_FOUND if there is none).
#[no_mangle]
pub extern "C" fn hy_engine_department(
    engine: *const hy_engine,
    department: hy_department_id,
    department_out: *mut hy_department,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = try_out(department_out, "department_out")?;
        let d = e.department(DepartmentId(department))?;
        out.set(department_to(e, &d));
        Ok(())
    }
}

/// One resource by id (HY_NOT_FOUND if there is none).
#[no_mangle]
pub extern "C" fn hy_engine_resource(
    engine: *const hy_engine,
    resource: hy_resource_id,
    resource_out: *mut hy_resource,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = try_out(resource_out, "resource_out")?;
        out.set(resource_to(&e.resource(ResourceId(resource))?));
        Ok(())
    }
}

/// One channel by id (HY_NOT_FOUND if there is none; `hy_engine_channel_id` goes the other way).
#[no_mangle]
pub extern "C" fn hy_engine_channel(
    engine: *const hy_engine,
    channel: hy_channel_id,
    channel_out: *mut hy_channel,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = try_out(channel_out, "channel_out")?;
        let c = e.channel(ChannelId(channel))?;
        out.set(hy_channel { id: c.id.0, name: name_field(&c.name) });
        Ok(())
    }
}

/// Measured no-show rate of a resource (HY_NOT_FOUND if there is none).
#[no_mangle]
pub extern "C" fn hy_engine_resource_stats(
    engine: *const hy_engine,
    resource: hy_resource_id,
    stats_out: *mut hy_resource_stats,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = try_out(stats_out, "stats_out")?;
        let s = e.resource_stats(ResourceId(resource))?;
        out.set(hy_resource_stats {
            resource: s.resource.0,
            outcomes: s.outcomes,
            no_shows: s.no_shows,
            no_show_rate: s.no_show_rate,
        });
        Ok(())
    }
}

/// Every institution, in id order, into `out` (`cap` entries; see "Lists" in the README).
#[no_mangle]
pub extern "C" fn hy_engine_institutions(
    engine: *const hy_engine,
    out: *mut hy_institution,
    cap: usize,
    written_out: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        list_out(out, cap, written_out, || Ok(e.institutions()), |i| institution_to(e, i))
    }
}

/// An institution's departments, in id order, into `out` (`cap` entries). HY_NOT_FOUND for an
/// unknown institution.
#[no_mangle]
pub extern "C" fn hy_engine_departments_of(
    engine: *const hy_engine,
    institution: hy_institution_id,
    out: *mut hy_department,
    cap: usize,
    written_out: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        list_out(out, cap, written_out, || Ok(e.departments_of(InstitutionId(institution))?), |d| department_to(e, d))
    }
}

/// A department's resources, in id order, into `out` (`cap` entries). HY_NOT_FOUND for an
/// unknown department.
#[no_mangle]
pub extern "C" fn hy_engine_resources_of(
    engine: *const hy_engine,
    department: hy_department_id,
    out: *mut hy_resource,
    cap: usize,
    written_out: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        list_out(out, cap, written_out, || Ok(e.resources_of(DepartmentId(department))?), resource_to)
    }
}

// ------------------------------------------------------------------ patients and bookings

/// A patient's record in numbers: the patient it resolves to, counts of cards, active
/// bookings, referrals and waitlist entries, no-shows in the counting window, the end of a
/// suspension (0 = none). HY_NOT_FOUND for an unknown patient. The lists are
/// `hy_engine_bookings_of` and `hy_engine_waitlist`; the full record (masked cards, referrals)
/// is `hy_engine_patient_record_json`.
#[no_mangle]
pub extern "C" fn hy_engine_patient_record(
    engine: *const hy_engine,
    patient: hy_patient_id,
    record_out: *mut hy_patient_record,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = try_out(record_out, "record_out")?;
        let r = e.patient_record(PatientId(patient))?;
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        out.set(hy_patient_record {
            patient: r.patient.0,
            cards: count(r.cards.len()),
            // An empty f32 sum is -0.0; C callers compare with 0.
            no_shows_in_window: r.no_shows_in_window + 0.0,
            suspended_until: r.suspended_until.map_or(0, |t| t.0),
            active_bookings: count(r.active_bookings.len()),
            referrals: count(r.referrals.len()),
            waitlist_entries: r.waitlist_entries,
        });
        Ok(())
    }
}

/// A patient's holds and bookings, oldest first — every active one and the most recent ended
/// ones — into `out` (`cap` entries). HY_NOT_FOUND for an unknown patient.
#[no_mangle]
pub extern "C" fn hy_engine_bookings_of(
    engine: *const hy_engine,
    patient: hy_patient_id,
    out: *mut hy_booking,
    cap: usize,
    written_out: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        list_out(out, cap, written_out, || Ok(e.bookings_of(PatientId(patient))?), |b| b.into())
    }
}

/// Every hold and booking on the `slots_len` slots of `slots` (at most
/// HY_SLOTS_PER_QUERY_MAX), ordered by (slot, id), into `out` (`cap` entries): who holds a
/// place. HY_NOT_FOUND if a slot is unknown.
#[no_mangle]
pub extern "C" fn hy_engine_bookings_on(
    engine: *const hy_engine,
    slots: *const hy_slot_id,
    slots_len: usize,
    out: *mut hy_booking,
    cap: usize,
    written_out: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let ids: Vec<SlotId> = try_slice(slots, slots_len, HY_SLOTS_PER_QUERY_MAX, "slots")?.iter().map(|s| SlotId(*s)).collect();
        list_out(out, cap, written_out, || Ok(e.bookings_on(&ids)?), |b| b.into())
    }
}

/// Most slots one `hy_engine_bookings_on` call takes.
// A literal, so that cbindgen writes it into the header; asserted equal to core's bound.
pub const HY_SLOTS_PER_QUERY_MAX: usize = 1_000_000;
const _: () = assert!(HY_SLOTS_PER_QUERY_MAX == haoyuan_core::SLOTS_PER_QUERY_MAX);

/// The slots of a resource on a date, in start order, into `out` (`cap` entries; none when
/// nothing is published). HY_NOT_FOUND for an unknown resource, HY_INVALID_DATE for a date
/// outside 1970 ..= 2199.
#[no_mangle]
pub extern "C" fn hy_engine_resource_day_slots(
    engine: *const hy_engine,
    resource: hy_resource_id,
    date: hy_date,
    out: *mut hy_slot_id,
    cap: usize,
    written_out: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        list_out(out, cap, written_out, || Ok(e.resource_day_slots(ResourceId(resource), Date(date))?), |s| s.0)
    }
}

/// A department's waitlist, in serving order (priority, then joining order), into `out` (`cap`
/// entries). HY_NOT_FOUND for an unknown department.
#[no_mangle]
pub extern "C" fn hy_engine_waitlist(
    engine: *const hy_engine,
    department: hy_department_id,
    out: *mut hy_waitlist_entry,
    cap: usize,
    written_out: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        list_out(out, cap, written_out, || Ok(e.waitlist(DepartmentId(department))?), |w| w.into())
    }
}
