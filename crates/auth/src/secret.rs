//! `Secret<T>`: a wrapper for passwords and keys that never prints its
//! contents and, for `String` and `Vec<u8>`, overwrites its bytes when dropped.

use std::any::Any;
use std::fmt;
use std::sync::atomic::{Ordering, compiler_fence};

/// A value that must not end up in logs: `Debug` and `Display` print
/// `<redacted>`, and reading it takes an explicit [`Secret::expose`].
///
/// When the inner value is a `String` or a `Vec<u8>`, its whole allocation
/// (length and spare capacity) is overwritten with zeros on drop. This is best
/// effort: copies made before (a reallocation while the value grew, a clone,
/// a buffer the bytes passed through) are not reached.
///
/// `T: 'static` is what lets the drop code recognise `String` and `Vec<u8>`
/// without a trait every wrapped type would have to implement.
pub struct Secret<T: 'static> {
    /// The wrapped value; private so that every read goes through `expose`.
    inner: T,
}

impl<T: 'static> Secret<T> {
    /// Wraps a value.
    pub fn new(inner: T) -> Self {
        Self { inner }
    }

    /// Borrows the value. Call sites are where secrets leave the wrapper, so
    /// keep them few and easy to find.
    pub fn expose(&self) -> &T {
        &self.inner
    }
}

impl<T: 'static> From<T> for Secret<T> {
    fn from(inner: T) -> Self {
        Self::new(inner)
    }
}

impl<T: Clone + 'static> Clone for Secret<T> {
    fn clone(&self) -> Self {
        Self::new(self.inner.clone())
    }
}

impl<T: 'static> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T: 'static> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T: 'static> Drop for Secret<T> {
    fn drop(&mut self) {
        let any: &mut dyn Any = &mut self.inner;
        if let Some(s) = any.downcast_mut::<String>() {
            // SAFETY: only zero bytes are written, and NUL is valid UTF-8, so
            // the string stays valid for its own drop that follows.
            wipe_vec(unsafe { s.as_mut_vec() });
        } else if let Some(v) = any.downcast_mut::<Vec<u8>>() {
            wipe_vec(v);
        }
    }
}

/// Overwrites the whole allocation of `v` (including spare capacity) with
/// zeros, in a way the optimiser may not remove as a dead store.
fn wipe_vec(v: &mut Vec<u8>) {
    let ptr = v.as_mut_ptr();
    for i in 0..v.capacity() {
        // SAFETY: `i < capacity`, so `ptr + i` lies inside the allocation the
        // vector owns; writing a `u8` there is valid even past `len`.
        unsafe { std::ptr::write_volatile(ptr.add(i), 0) };
    }
    compiler_fence(Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let s = Secret::new(String::from("hunter2"));
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(s)), "Some(<redacted>)");
    }

    #[test]
    fn expose_returns_the_value() {
        let s = Secret::new(vec![1u8, 2, 3]);
        assert_eq!(s.expose(), &vec![1, 2, 3]);
        assert_eq!(Secret::from(7u32).expose(), &7);
    }

    #[test]
    fn clone_is_independent_and_redacted() {
        let a = Secret::new(String::from("pw"));
        let b = a.clone();
        drop(a);
        assert_eq!(b.expose(), "pw");
        assert_eq!(format!("{b:?}"), "<redacted>");
    }

    #[test]
    fn wipe_zeroes_length_and_spare_capacity() {
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(b"secret");
        wipe_vec(&mut v);
        assert_eq!(v, vec![0u8; 6]);
        // Spare capacity was written too: growing into it shows zeros only
        // where we write nothing else, so check through the raw allocation.
        let cap = v.capacity();
        let ptr = v.as_ptr();
        // SAFETY: every byte up to capacity was initialised by `wipe_vec`.
        let all = unsafe { std::slice::from_raw_parts(ptr, cap) };
        assert!(all.iter().all(|&b| b == 0));
    }

    #[test]
    fn dropping_other_types_is_fine() {
        drop(Secret::new(42u64));
        drop(Secret::new(String::new()));
        drop(Secret::new(Vec::<u8>::new()));
        drop(Secret::new(vec![String::from("not wiped, but dropped")]));
    }
}
