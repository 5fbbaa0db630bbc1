//! The registry: institutions, departments, resources, channels, and the interned names
//! (districts, specialties) that let the engine find "the same department in the same district"
//! elsewhere.
//!
//! Entities are append-only (`boxcar::Vec`): reading one on the booking path is a lock-free
//! index, and nothing is ever moved, so a `&Resource` stays valid for the engine's lifetime.

use crate::error::{Error, Result};
use crate::ids::*;
use crate::model::{Channel, Department, Institution, ResourceKind, ResourceStats, Tier};
use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

/// Longest accepted name, in bytes.
pub const NAME_LEN_MAX: usize = 200;
/// Most entities of one kind (ids are u32; channels u16).
pub const ENTITIES_MAX: usize = u32::MAX as usize / 2;

/// A bookable resource of a department. `expert` marks senior-doctor resources, which keep a
/// larger referral share.
#[derive(Debug, Serialize, Deserialize)]
pub struct Resource {
    /// This resource's id, assigned at registration from 1 in registration order; never reused.
    pub id: ResourceId,
    /// The department it belongs to (and so its institution, specialty and district); fixed at
    /// registration.
    pub department: DepartmentId,
    /// What is booked: a doctor's clinic, a bed, an exam device, nursing, pharmacy or a service.
    pub kind: ResourceKind,
    /// Display name, 1 ..= 200 bytes of UTF-8 (`NAME_LEN_MAX`), not blank, not unique.
    pub name: String,
    /// A senior doctor (专家): its slots keep the larger referral share
    /// (`referral.expert_share`, default 50% against 30%), since these are the places a
    /// referral most needs.
    pub expert: bool,
    /// Bookings of this resource that reached an outcome (checked in or no-show), for the
    /// measured no-show rate a host uses to set overbooking.
    #[serde(skip)]
    pub(crate) outcomes: AtomicU64,
    #[serde(skip)]
    pub(crate) no_shows: AtomicU64,
}

impl Resource {
    /// A copy of the descriptive fields (the outcome counters stay with the engine).
    pub(crate) fn snapshot(&self) -> Resource {
        Resource {
            id: self.id,
            department: self.department,
            kind: self.kind,
            name: self.name.clone(),
            expert: self.expert,
            outcomes: AtomicU64::new(self.outcomes.load(Ordering::Relaxed)),
            no_shows: AtomicU64::new(self.no_shows.load(Ordering::Relaxed)),
        }
    }
}

/// Channels every engine starts with, in id order.
pub const STANDARD_CHANNELS: [&str; 6] = ["app", "wechat", "web", "kiosk", "phone", "clinic"];

#[derive(Default)]
pub(crate) struct Registry {
    pub institutions: boxcar::Vec<Institution>,
    pub departments: boxcar::Vec<Department>,
    pub resources: boxcar::Vec<Resource>,
    pub channels: boxcar::Vec<Channel>,
    pub districts: boxcar::Vec<String>,
    pub specialties: boxcar::Vec<String>,
    district_ids: DashMap<String, DistrictId>,
    specialty_ids: DashMap<String, SpecialtyId>,
    channel_ids: DashMap<String, ChannelId>,
    /// (specialty, district) → departments: where to look for alternatives.
    pub by_specialty_district: IdMap<(SpecialtyId, DistrictId), GroupMembers>,
    /// institution → its departments, in id order.
    pub by_institution: IdMap<InstitutionId, Vec<DepartmentId>>,
    /// department → its resources, in id order.
    pub by_department: IdMap<DepartmentId, Vec<ResourceId>>,
}

/// The departments of one specialty in one district, in the order they joined (a member's
/// number is its place here, `department_group`), with each one's institution beside it:
/// `alternatives` passes over a group's members on every call and must leave out the asking
/// department's own institution, and a registry lookup per member for that was a miss to
/// memory each.
#[derive(Clone, Default)]
pub(crate) struct GroupMembers {
    pub departments: Vec<DepartmentId>,
    pub institutions: Vec<InstitutionId>,
}

impl GroupMembers {
    fn push(&mut self, department: DepartmentId, institution: InstitutionId) {
        self.departments.push(department);
        self.institutions.push(institution);
        debug_assert_eq!(self.departments.len(), self.institutions.len());
    }
}

pub(crate) fn check_name(what: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid(format!("{what} name is empty")));
    }
    if name.len() > NAME_LEN_MAX {
        return Err(Error::invalid(format!("{what} name is longer than {NAME_LEN_MAX} bytes")));
    }
    Ok(())
}

fn check_room(what: &str, count: usize, max: usize) -> Result<()> {
    if count >= max {
        return Err(Error::CapacityExceeded(format!("at most {max} {what}s")));
    }
    Ok(())
}

impl Registry {
    pub fn new() -> Self {
        let r = Registry::default();
        for name in STANDARD_CHANNELS {
            r.add_channel(name).expect("standard channel names are valid");
        }
        r
    }

    // Interning goes through the map's entry lock, so two concurrent registrations of one name
    // agree on one id.
    pub fn district(&self, name: &str) -> Result<DistrictId> {
        check_name("district", name)?;
        check_room("district", self.districts.count(), ENTITIES_MAX)?;
        let id = *self
            .district_ids
            .entry(name.to_string())
            .or_insert_with(|| DistrictId::from_index(self.districts.push(name.to_string())));
        Ok(id)
    }

    pub fn specialty(&self, name: &str) -> Result<SpecialtyId> {
        check_name("specialty", name)?;
        check_room("specialty", self.specialties.count(), ENTITIES_MAX)?;
        let id = *self
            .specialty_ids
            .entry(name.to_string())
            .or_insert_with(|| SpecialtyId::from_index(self.specialties.push(name.to_string())));
        Ok(id)
    }

    pub fn find_district(&self, name: &str) -> Option<DistrictId> {
        self.district_ids.get(name).map(|r| *r)
    }

    pub fn find_specialty(&self, name: &str) -> Option<SpecialtyId> {
        self.specialty_ids.get(name).map(|r| *r)
    }

    pub fn find_channel(&self, name: &str) -> Option<ChannelId> {
        self.channel_ids.get(name).map(|r| *r)
    }

    pub fn add_institution(&self, name: &str, tier: Tier, district: &str) -> Result<InstitutionId> {
        check_name("institution", name)?;
        check_room("institution", self.institutions.count(), ENTITIES_MAX)?;
        let district = self.district(district)?;
        let id = self.institutions.push_with(|i| Institution {
            id: InstitutionId::from_index(i),
            name: name.to_string(),
            tier,
            district,
        });
        Ok(InstitutionId::from_index(id))
    }

    pub fn add_department(
        &self,
        institution: InstitutionId,
        specialty: &str,
        name: &str,
    ) -> Result<DepartmentId> {
        check_name("department", name)?;
        check_room("department", self.departments.count(), ENTITIES_MAX)?;
        let inst = self.institution(institution)?;
        let specialty = self.specialty(specialty)?;
        let district = inst.district;
        let id = DepartmentId::from_index(self.departments.push_with(|i| Department {
            id: DepartmentId::from_index(i),
            institution,
            specialty,
            name: name.to_string(),
        }));
        self.by_specialty_district.entry((specialty, district)).or_default().push(id, institution);
        self.by_institution.entry(institution).or_default().push(id);
        Ok(id)
    }

    pub fn add_resource(
        &self,
        department: DepartmentId,
        kind: ResourceKind,
        name: &str,
        expert: bool,
    ) -> Result<ResourceId> {
        check_name("resource", name)?;
        check_room("resource", self.resources.count(), ENTITIES_MAX)?;
        self.department(department)?;
        let id = self.resources.push_with(|i| Resource {
            id: ResourceId::from_index(i),
            department,
            kind,
            name: name.to_string(),
            expert,
            outcomes: AtomicU64::new(0),
            no_shows: AtomicU64::new(0),
        });
        let id = ResourceId::from_index(id);
        self.by_department.entry(department).or_default().push(id);
        Ok(id)
    }

    pub fn add_channel(&self, name: &str) -> Result<ChannelId> {
        check_name("channel", name)?;
        check_room("channel", self.channels.count(), u16::MAX as usize - 1)?;
        let id =
            *self.channel_ids.entry(name.to_string()).or_insert_with(|| {
                ChannelId::from_index(self.channels.push_with(|i| Channel {
                    id: ChannelId::from_index(i),
                    name: name.to_string(),
                }))
            });
        Ok(id)
    }

    pub fn institution(&self, id: InstitutionId) -> Result<&Institution> {
        id.index()
            .and_then(|i| self.institutions.get(i))
            .ok_or_else(|| Error::not_found("institution", id.0 as u64))
    }

    /// A department's group-day key and member number (`store::GroupDay`): its specialty, its
    /// institution's district, and its place in their `by_specialty_district` list. Departments
    /// only join the end of that list, so the number never changes.
    pub fn department_group(&self, id: DepartmentId) -> Result<crate::store::Group> {
        let d = self.department(id)?;
        let district = self.institution(d.institution)?.district;
        let member = self
            .by_specialty_district
            .get(&(d.specialty, district))
            .and_then(|l| l.departments.iter().position(|x| *x == id))
            .ok_or_else(|| Error::invalid(format!("{id} is missing from its specialty's list")))?;
        Ok((d.specialty, district, member as u32))
    }

    pub fn department(&self, id: DepartmentId) -> Result<&Department> {
        id.index()
            .and_then(|i| self.departments.get(i))
            .ok_or_else(|| Error::not_found("department", id.0 as u64))
    }

    pub fn resource(&self, id: ResourceId) -> Result<&Resource> {
        id.index()
            .and_then(|i| self.resources.get(i))
            .ok_or_else(|| Error::not_found("resource", id.0 as u64))
    }

    pub fn channel(&self, id: ChannelId) -> Result<&Channel> {
        id.index()
            .and_then(|i| self.channels.get(i))
            .ok_or_else(|| Error::not_found("channel", id.0 as u64))
    }

    pub fn resource_stats(&self, id: ResourceId) -> Result<ResourceStats> {
        let r = self.resource(id)?;
        let outcomes = r.outcomes.load(Ordering::Relaxed);
        let no_shows = r.no_shows.load(Ordering::Relaxed);
        let no_show_rate = if outcomes == 0 { 0.0 } else { no_shows as f64 / outcomes as f64 };
        Ok(ResourceStats { resource: id, outcomes, no_shows, no_show_rate })
    }
}
