//! `bss.ferrule.dev`: what the ISP sells and to whom.

pub mod customer;
pub mod product;
pub mod service_order;
pub mod subscription;
