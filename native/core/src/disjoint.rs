//! A row-major matrix shared by threads that each write their own columns
//! of it: columns cannot be split off as slices, so the threads share a
//! pointer, and the callers keep their writes disjoint.

#[derive(Clone, Copy)]
pub(crate) struct Disjoint<T>(*mut T);

impl<T> Disjoint<T> {
    pub(crate) fn new(entries: &mut [T]) -> Self {
        Disjoint(entries.as_mut_ptr())
    }

    /// Entry `index` (a method, so closures capture the whole Sync wrapper).
    pub(crate) fn entry(self, index: usize) -> *mut T {
        // SAFETY: callers pass indices inside the matrix the pointer came from.
        unsafe { self.0.add(index) }
    }
}

// SAFETY: the threads sharing it write disjoint entries, and the scope that
// spawns them ends before the matrix is used again.
unsafe impl<T: Send> Send for Disjoint<T> {}
unsafe impl<T: Send> Sync for Disjoint<T> {}
