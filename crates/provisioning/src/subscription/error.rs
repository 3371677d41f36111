//! The Subscription controller's error: each pipeline step's error, classified by remedy.

use kube::runtime::finalizer;

use crate::transactor::{PlanError, TransactError};
use ferrule_operator::reasons::{self, Remedy};

use super::claims::ClaimError;
use super::render::RenderFailure;
use super::validate::InvalidIntent;

/// Why a Subscription reconcile did not converge.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The validate step refused the spec.
    #[error(transparent)]
    Invalid(#[from] InvalidIntent),
    /// The allocate step could not claim the values.
    #[error(transparent)]
    Claim(#[from] ClaimError),
    /// The render step failed.
    #[error(transparent)]
    Render(#[from] RenderFailure),
    /// The rendered configuration could not be planned.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A device is in maintenance; pushes wait until it is cleared.
    #[error("Device {0} is in maintenance; the change waits until spec.maintenance is false")]
    Maintenance(String),
    /// The network transaction failed.
    #[error(transparent)]
    Transaction(#[from] TransactError),
    /// The API server failed a request.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The finalizer could not be added or removed.
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),
}

impl Error {
    /// The condition reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Invalid(e) => e.reason(),
            Self::Claim(ClaimError::Allocation(e)) => e.reason(),
            Self::Claim(_) | Self::Kube(_) | Self::Finalizer(_) => "ApiError",
            Self::Render(e) => e.reason(),
            Self::Plan(_) => reasons::INVALID_CONFIG,
            Self::Maintenance(_) => reasons::MAINTENANCE,
            Self::Transaction(e) => e.reason(),
        }
    }

    /// What makes the next reconcile succeed.
    pub fn remedy(&self) -> Remedy {
        match self {
            Self::Finalizer(inner) => match inner.as_ref() {
                finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e.remedy(),
                _ => Remedy::Retry,
            },
            other => reasons::remedy(other.reason()),
        }
    }

    /// Whether the error only means this controller's view was stale (a conflict on a
    /// guarded write, a finalizer patch on an outdated object): retried at once, quietly.
    pub fn is_stale_view(&self) -> bool {
        let api =
            |e: &kube::Error| matches!(e, kube::Error::Api(s) if s.code == 409 || s.code == 422);
        match self {
            Self::Kube(e) => api(e),
            Self::Finalizer(inner) => match inner.as_ref() {
                finalizer::Error::AddFinalizer(e) | finalizer::Error::RemoveFinalizer(e) => api(e),
                finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => {
                    e.is_stale_view()
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// Whether the error belongs in the subscription's status (the API errors do not: they
    /// say nothing about the subscription and are retried).
    pub fn is_reportable(&self) -> bool {
        !matches!(
            self,
            Self::Kube(_) | Self::Finalizer(_) | Self::Claim(ClaimError::Kube(_))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscription::allocation::AllocationError;

    #[test]
    fn remedies_follow_the_step() {
        let exhausted = Error::Claim(ClaimError::Allocation(AllocationError::Exhausted {
            kind: "VLAN",
            device: "olt1".into(),
            pools: "a".into(),
        }));
        assert_eq!(exhausted.remedy(), Remedy::FixSpec);
        assert_eq!(exhausted.reason(), reasons::POOL_EXHAUSTED);
        let contended = Error::Claim(ClaimError::Contended {
            kind: "VLAN",
            count: 64,
        });
        assert_eq!(contended.remedy(), Remedy::Retry);
        assert_eq!(Error::Maintenance("olt1".into()).remedy(), Remedy::Wait);
        let unreachable = Error::Transaction(TransactError::Unreachable {
            device: "olt1".into(),
            message: "connection refused".into(),
        });
        assert_eq!(unreachable.remedy(), Remedy::Retry);
        let wrapped = Error::Finalizer(Box::new(finalizer::Error::ApplyFailed(Error::Invalid(
            InvalidIntent::UnknownProduct("x".into()),
        ))));
        assert_eq!(wrapped.remedy(), Remedy::FixSpec);
    }
}
