//! Product: something the ISP sells, with its price and service parameters.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::condition::Condition;
use crate::money::{Currency, Money, MoneyError, Percent};
use crate::params::Parameters;
use crate::patterns;

/// The desired state of a Product: the service it configures and its price.
// Every `printcolumn(...)` repeats the same keys, which clippy mistakes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "bss.ferrule.dev",
    version = "v1alpha1",
    kind = "Product",
    namespaced,
    status = "ProductStatus",
    derive = "PartialEq",
    shortname = "prod",
    category = "ferrule",
    doc = "A product in the ISP's catalogue: the service type that selects the device templates, the parameters handed to them, and the price.",
    printcolumn(name = "Service", type_ = "string", json_path = ".spec.serviceType"),
    printcolumn(
        name = "Monthly",
        type_ = "string",
        json_path = ".spec.pricing.monthly"
    ),
    printcolumn(
        name = "Currency",
        type_ = "string",
        json_path = ".spec.pricing.currency"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ProductSpec {
    /// Name shown on invoices and in the dashboard.
    #[schemars(length(min = 1, max = 253))]
    pub display_name: String,
    /// Service type (a DNS-1123 label such as `internet`); selects the template
    /// `templates/<profile>/<serviceType>.xml` on every device.
    #[schemars(length(min = 1, max = 63), regex(pattern = patterns::DNS1123_LABEL))]
    pub service_type: String,
    /// Parameters handed to the templates, e.g. `downMbps: 300`. Values are strings, numbers or
    /// booleans; a Subscription may override them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Parameters>,
    /// The price.
    pub pricing: Pricing,
    /// When a plan change to this product takes effect: immediately (prorated) or at the end
    /// of the current billing cycle.
    #[serde(default)]
    pub plan_change: PlanChange,
    /// Service level agreement and the credit owed when it is missed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<Sla>,
}

/// The price of a product.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pricing {
    /// ISO 4217 currency of all amounts, e.g. `EUR`.
    #[schemars(regex(pattern = patterns::CURRENCY))]
    pub currency: String,
    /// Recurring charge per month, a decimal string such as `39.90`.
    #[schemars(regex(pattern = patterns::MONEY))]
    pub monthly: String,
    /// One-time charge on activation, a decimal string.
    #[serde(default = "default_setup_fee", skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = patterns::MONEY))]
    pub setup_fee: Option<String>,
    /// Usage-based charging on top of the monthly price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

fn default_setup_fee() -> Option<String> {
    Some("0.00".to_owned())
}

impl Pricing {
    /// The pricing currency, parsed.
    pub fn currency(&self) -> Result<Currency, MoneyError> {
        self.currency.parse()
    }

    /// The monthly price as money.
    pub fn monthly(&self) -> Result<Money, MoneyError> {
        Money::parse(&self.monthly, self.currency()?)
    }

    /// The setup fee as money; zero when not set.
    pub fn setup_fee(&self) -> Result<Money, MoneyError> {
        let currency = self.currency()?;
        self.setup_fee
            .as_deref()
            .map_or(Ok(Money::zero(currency)), |fee| Money::parse(fee, currency))
    }
}

/// Usage-based charging.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Unit of measured traffic.
    pub unit: UsageUnit,
    /// Units included in the monthly price.
    #[schemars(range(min = 0))]
    pub included: i64,
    /// Price of every unit beyond the included ones, a decimal string.
    #[schemars(regex(pattern = patterns::MONEY))]
    pub overage_per_unit: String,
}

/// Unit of measured traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum UsageUnit {
    /// Gigabytes (10^9 bytes), downstream plus upstream.
    #[serde(rename = "GB")]
    Gb,
}

/// When a plan change takes effect.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum PlanChange {
    /// At once; the rest of the cycle is prorated.
    #[default]
    Immediate,
    /// At the start of the next billing cycle.
    EndOfCycle,
}

/// A service level agreement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Sla {
    /// Promised monthly availability in percent, a decimal string such as `99.9`.
    #[schemars(regex(pattern = patterns::AVAILABILITY_PERCENT))]
    pub availability_percent: String,
    /// Share of the monthly price credited when the availability is missed, in percent
    /// (0-100, at most two fraction digits).
    #[schemars(regex(pattern = patterns::PERCENT_0_100))]
    pub credit_percent: String,
}

impl Sla {
    /// The promised availability, parsed.
    pub fn availability(&self) -> Result<Percent, MoneyError> {
        self.availability_percent.parse()
    }

    /// The credit percentage, parsed.
    pub fn credit(&self) -> Result<Percent, MoneyError> {
        self.credit_percent.parse()
    }
}

/// The observed state of a Product.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductStatus {
    /// Number of subscriptions currently active on this product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub active_subscriptions: Option<i32>,
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current conditions of the product.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}
