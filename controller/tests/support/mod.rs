pub mod nc;
pub mod up;
