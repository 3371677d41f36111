//! Customer: someone the ISP bills.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::condition::Condition;
use crate::money::{Currency, MoneyError, Percent};
use crate::patterns;

/// The desired state of a Customer: who they are, how to reach them and how they are billed.
// Every `printcolumn(...)` repeats the same keys, which clippy mistakes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "bss.ferrule.dev",
    version = "v1alpha1",
    kind = "Customer",
    namespaced,
    status = "CustomerStatus",
    derive = "PartialEq",
    shortname = "cust",
    category = "ferrule",
    doc = "A customer of the ISP: contact data, billing terms and the derived lifecycle phase. Subscriptions and service orders refer to it by name.",
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Currency",
        type_ = "string",
        json_path = ".spec.billing.currency"
    ),
    printcolumn(name = "Balance", type_ = "string", json_path = ".status.balance"),
    printcolumn(
        name = "Subs",
        type_ = "integer",
        json_path = ".status.activeSubscriptions"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct CustomerSpec {
    /// Name shown on invoices and in the dashboard.
    #[schemars(length(min = 1, max = 253))]
    pub display_name: String,
    /// How to reach the customer.
    pub contact: Contact,
    /// Billing terms.
    pub billing: Billing,
    /// Where notifications (order completed, invoice issued, suspension...) are delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<Notifications>,
}

/// Contact data of a customer. Never written to logs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// E-mail address for invoices and notices.
    #[schemars(length(max = 254), regex(pattern = patterns::EMAIL))]
    pub email: String,
    /// Telephone number, digits with optional leading `+`, spaces, dashes and parentheses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = patterns::PHONE))]
    pub phone: Option<String>,
}

/// Billing terms of a customer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Billing {
    /// ISO 4217 currency of every invoice, e.g. `EUR`. Products sold to the customer must be
    /// priced in the same currency.
    #[schemars(regex(pattern = patterns::CURRENCY))]
    pub currency: String,
    /// Day of the month (1-28) on which the monthly charges are invoiced, in advance.
    #[schemars(range(min = 1, max = 28))]
    pub cycle_day: i32,
    /// Days between issuing an invoice and its due date.
    #[serde(default = "default_payment_terms_days")]
    #[schemars(range(min = 0, max = 365))]
    pub payment_terms_days: i32,
    /// Days an invoice may stay overdue before the customer's subscriptions are suspended.
    #[serde(default = "default_grace_days")]
    #[schemars(range(min = 0, max = 365))]
    pub grace_days: i32,
    /// Tax rate in percent applied to every invoice line, as a decimal string (`19`, `7.25`).
    #[serde(
        default = "default_tax_rate_percent",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(regex(pattern = patterns::TAX_RATE_PERCENT))]
    pub tax_rate_percent: Option<String>,
}

impl Billing {
    /// The billing currency, parsed.
    pub fn currency(&self) -> Result<Currency, MoneyError> {
        self.currency.parse()
    }

    /// The tax rate, parsed; zero when not set.
    pub fn tax_rate(&self) -> Result<Percent, MoneyError> {
        self.tax_rate_percent
            .as_deref()
            .map_or(Ok(Percent::ZERO), str::parse)
    }
}

fn default_payment_terms_days() -> i32 {
    14
}

fn default_grace_days() -> i32 {
    7
}

fn default_tax_rate_percent() -> Option<String> {
    Some("0".to_owned())
}

/// Notification settings of a customer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notifications {
    /// An HTTP endpoint that receives every notification as a signed JSON POST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Webhook>,
}

/// A webhook endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    /// The URL notifications are POSTed to (http or https).
    #[schemars(length(max = 2048), regex(pattern = patterns::HTTP_URL))]
    pub url: String,
    /// The Secret key holding the HMAC-SHA256 signing secret; unsigned when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeyRef>,
}

/// A key in a Secret of the same namespace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253), regex(pattern = patterns::DNS1123_SUBDOMAIN))]
    pub name: String,
    /// Key within the Secret.
    #[serde(default = "default_secret_key")]
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

fn default_secret_key() -> String {
    "secret".to_owned()
}

/// Lifecycle phase of a customer, derived by the CRM controller: Prospect (nothing activated
/// yet), Active (at least one active subscription), Suspended (suspended for non-payment),
/// Closed (every subscription terminated).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum CustomerPhase {
    /// No subscription has been activated yet.
    Prospect,
    /// At least one subscription is active.
    Active,
    /// Subscriptions are suspended for non-payment.
    Suspended,
    /// Every subscription has been terminated.
    Closed,
}

/// The observed state of a Customer, written by the CRM and billing controllers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerStatus {
    /// Lifecycle phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<CustomerPhase>,
    /// Open balance in the billing currency (positive: the customer owes), e.g. `-12.30`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = patterns::SIGNED_MONEY))]
    pub balance: Option<String>,
    /// Number of subscriptions currently active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub active_subscriptions: Option<i32>,
    /// Number of the most recent invoice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_invoice: Option<String>,
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current conditions of the customer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}
