//! Macros shared by the middleware types.

/// `get_ref`, `get_mut` and `into_inner` for a middleware whose inner service is the
/// field `inner` of type `S`. Used inside an `impl<S, ..> Middleware<S, ..>` block.
macro_rules! inner_service_accessors {
    () => {
        /// The inner service.
        pub fn get_ref(&self) -> &S {
            &self.inner
        }

        /// The inner service, mutably.
        pub fn get_mut(&mut self) -> &mut S {
            &mut self.inner
        }

        /// Consumes the middleware, returning the inner service.
        pub fn into_inner(self) -> S {
            self.inner
        }
    };
}
