//! The allocation policy from Python: from a dict, TOML or JSON, and back (round trips).
//! Every field not given keeps DOMAIN.md's default; an unknown field is an `InvalidPolicy`.

use crate::convert::json_text;
use crate::errors::HyErr;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

/// All allocation rules (booking window, holds, limits, cancellation, no-shows, referral pool,
/// channel quotas, release lottery, waitlist, overbooking), with DOMAIN.md's defaults.
#[pyclass(module = "haoyuan._native", frozen, eq)]
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub inner: haoyuan::Policy,
}

#[pymethods]
impl Policy {
    /// The defaults, or `Policy(dict)` / `Policy(**sections)` overriding some of them.
    #[new]
    #[pyo3(signature = (rules=None, **sections))]
    fn new(
        rules: Option<&Bound<'_, PyDict>>,
        sections: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let merged = match (rules, sections) {
            (None, None) => return Ok(Policy { inner: haoyuan::Policy::default() }),
            (Some(r), None) => r.clone(),
            (None, Some(s)) => s.clone(),
            (Some(r), Some(s)) => {
                let d = r.copy()?;
                d.update(s.as_mapping())?;
                d
            }
        };
        Self::from_dict(&merged)
    }

    #[staticmethod]
    fn from_dict(rules: &Bound<'_, PyDict>) -> PyResult<Self> {
        // A dict `json` cannot write (NaN, infinities, objects) is a malformed policy.
        let json =
            json_text(rules.as_any())?.map_err(|m| HyErr(haoyuan::Error::InvalidPolicy(m)))?;
        Ok(Policy { inner: haoyuan::Policy::from_json(&json).map_err(HyErr)? })
    }

    #[staticmethod]
    fn from_toml(text: &str) -> PyResult<Self> {
        Ok(Policy { inner: haoyuan::Policy::from_toml(text).map_err(HyErr)? })
    }

    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(Policy { inner: haoyuan::Policy::from_json(text).map_err(HyErr)? })
    }

    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        // Through JSON text, not `serde_json::Value`: the text writes an f32 share as `0.3`,
        // where the value would widen it to 0.30000001192092896 and break the round trip.
        let json = py.import("json")?;
        Ok(json.call_method1("loads", (self.inner.to_json(),))?.downcast_into::<PyDict>()?)
    }

    fn to_toml(&self) -> String {
        self.inner.to_toml()
    }

    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    fn __repr__(&self) -> String {
        format!("Policy({})", self.inner.to_json())
    }
}

/// A policy argument: a `Policy`, a dict, or TOML / JSON text.
pub fn policy_arg(ob: Option<&Bound<'_, PyAny>>) -> PyResult<haoyuan::Policy> {
    let Some(ob) = ob else { return Ok(haoyuan::Policy::default()) };
    if ob.is_none() {
        return Ok(haoyuan::Policy::default());
    }
    if let Ok(p) = ob.downcast::<Policy>() {
        return Ok(p.get().inner.clone());
    }
    if let Ok(d) = ob.downcast::<PyDict>() {
        return Ok(Policy::from_dict(d)?.inner);
    }
    if let Ok(s) = ob.downcast::<PyString>() {
        let text = s.to_cow()?;
        let p = if text.trim_start().starts_with('{') {
            haoyuan::Policy::from_json(&text)
        } else {
            haoyuan::Policy::from_toml(&text)
        };
        return Ok(p.map_err(HyErr)?);
    }
    Err(crate::errors::invalid("policy must be a Policy, a dict, or TOML / JSON text"))
}
