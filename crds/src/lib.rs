//! Ferrule resource types.
