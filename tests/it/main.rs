//! The one integration-test binary: every area is a module, so the suite links once.

mod support;

mod accounts;
