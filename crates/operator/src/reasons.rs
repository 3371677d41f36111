//! The reasons the provisioning controllers write into conditions and Events.
//!
//! Reasons are part of the API: dashboards, alerts and the ServiceOrder controller read them.
//! Each reason belongs to one [`Remedy`], which decides whether the controller waits for a
//! change of the resources (the user must fix something) or retries with backoff.

/// What makes a failed reconcile succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remedy {
    /// The user must change a resource (the spec, a referenced object, a pool).
    FixSpec,
    /// Something outside Ferrule must change first (a device leaves maintenance).
    Wait,
    /// The condition is transient; the controller retries with backoff.
    Retry,
}

/// The Customer does not exist.
pub const UNKNOWN_CUSTOMER: &str = "UnknownCustomer";
/// The Customer is Closed.
pub const CUSTOMER_CLOSED: &str = "CustomerClosed";
/// The Product does not exist.
pub const UNKNOWN_PRODUCT: &str = "UnknownProduct";
/// Parameters of product or subscription are not usable.
pub const INVALID_PARAMETERS: &str = "InvalidParameters";
/// The access Device does not exist.
pub const UNKNOWN_DEVICE: &str = "UnknownDevice";
/// The access Device has role core.
pub const NOT_AN_ACCESS_DEVICE: &str = "NotAnAccessDevice";
/// The port is not in the access Device's `spec.ports`.
pub const PORT_NOT_ON_DEVICE: &str = "PortNotOnDevice";
/// Another Subscription holds the port.
pub const PORT_IN_USE: &str = "PortInUse";
/// The BNG of the access device cannot be determined.
pub const INVALID_BNG: &str = "InvalidBng";
/// A pinned `spec.vlan` or `spec.ipv4` cannot be used.
pub const INVALID_PINNED_VALUE: &str = "InvalidPinnedValue";
/// A pinned value is claimed by another Subscription.
pub const PINNED_VALUE_TAKEN: &str = "PinnedValueTaken";
/// No ResourcePool serves the device.
pub const NO_POOL: &str = "NoPool";
/// Every serving ResourcePool is exhausted.
pub const POOL_EXHAUSTED: &str = "PoolExhausted";
/// A serving ResourcePool's spec is unusable.
pub const INVALID_POOL: &str = "InvalidPool";
/// The device configuration could not be rendered (profile, template, parameters).
pub const RENDER_FAILED: &str = "RenderFailed";
/// The rendered configuration could not be planned (not a config tree, conflicts).
pub const INVALID_CONFIG: &str = "InvalidConfig";
/// A device involved is in maintenance; pushes wait.
pub const MAINTENANCE: &str = "Maintenance";
/// A device could not be reached.
pub const DEVICE_UNREACHABLE: &str = "DeviceUnreachable";
/// A device answered an rpc-error; every device was rolled back.
pub const DEVICE_REJECTED: &str = "DeviceRejected";
/// The transaction failed in another way (confirm incomplete, session lost).
pub const TRANSACTION_FAILED: &str = "TransactionFailed";
/// A network transaction is in progress.
pub const PROVISIONING: &str = "Provisioning";
/// Every device has the configuration.
pub const PROVISIONED: &str = "Provisioned";
/// Every device has the suspended variant.
pub const SUSPENDED: &str = "Suspended";
/// The subscription's configuration is being removed.
pub const TERMINATING: &str = "Terminating";
/// The subscription is annotated for a dry run: planned, not provisioned.
pub const DRY_RUN: &str = "DryRun";
/// Nothing has been tried yet.
pub const PENDING: &str = "Pending";
/// The configuration was provisioned, but a device no longer carries it as provisioned and
/// its driftPolicy is Report (or the repair failed): someone must repair or accept it.
pub const CONFIG_DRIFT: &str = "ConfigDrift";

/// An order item acts on a Subscription an earlier item of the order acts on.
pub const DUPLICATE_SUBSCRIPTION: &str = "DuplicateSubscription";
/// An order item acts on a Subscription of another Customer.
pub const SUBSCRIPTION_OF_OTHER_CUSTOMER: &str = "SubscriptionOfOtherCustomer";
/// An order item acts on a Subscription that does not exist.
pub const UNKNOWN_SUBSCRIPTION: &str = "UnknownSubscription";
/// An order item adds a Subscription that exists with another spec.
pub const SUBSCRIPTION_EXISTS: &str = "SubscriptionExists";
/// An order item lacks what its action needs (an Add without product or access, an empty
/// Modify).
pub const INCOMPLETE_ITEM: &str = "IncompleteItem";

/// The remedy of a reason; unknown reasons are treated as transient.
pub fn remedy(reason: &str) -> Remedy {
    match reason {
        UNKNOWN_CUSTOMER
        | CUSTOMER_CLOSED
        | UNKNOWN_PRODUCT
        | INVALID_PARAMETERS
        | UNKNOWN_DEVICE
        | NOT_AN_ACCESS_DEVICE
        | PORT_NOT_ON_DEVICE
        | PORT_IN_USE
        | INVALID_BNG
        | INVALID_PINNED_VALUE
        | PINNED_VALUE_TAKEN
        | NO_POOL
        | POOL_EXHAUSTED
        | INVALID_POOL
        | RENDER_FAILED
        | INVALID_CONFIG
        | DUPLICATE_SUBSCRIPTION
        | SUBSCRIPTION_OF_OTHER_CUSTOMER
        | UNKNOWN_SUBSCRIPTION
        | SUBSCRIPTION_EXISTS
        | INCOMPLETE_ITEM => Remedy::FixSpec,
        MAINTENANCE | CONFIG_DRIFT => Remedy::Wait,
        _ => Remedy::Retry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_problems_are_separated_from_transient_ones() {
        assert_eq!(remedy(POOL_EXHAUSTED), Remedy::FixSpec);
        assert_eq!(remedy(PORT_IN_USE), Remedy::FixSpec);
        assert_eq!(remedy(UNKNOWN_SUBSCRIPTION), Remedy::FixSpec);
        assert_eq!(remedy(INCOMPLETE_ITEM), Remedy::FixSpec);
        assert_eq!(remedy(MAINTENANCE), Remedy::Wait);
        assert_eq!(remedy(CONFIG_DRIFT), Remedy::Wait);
        assert_eq!(remedy(DEVICE_UNREACHABLE), Remedy::Retry);
        assert_eq!(remedy(DEVICE_REJECTED), Remedy::Retry);
        assert_eq!(remedy("SomethingNew"), Remedy::Retry);
    }
}
