pub mod nc;
