//! The byte ABI for wasmtime hosts, in safe Rust.
//!
//! The host asks for an input buffer of `len` bytes (`dgdr_input`), writes the
//! JSON request into the guest's memory at the returned address, runs an
//! operation (`dgdr_call(op)` returns the response length) and reads the
//! response at `dgdr_output()`. The buffers live in the guest, so the guest
//! never turns a host-given address into a reference: no `unsafe` needed.

use std::cell::RefCell;

thread_local! {
    static INPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Makes room for a request of `len` bytes; returns where to write it.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn dgdr_input(len: u32) -> u32 {
    INPUT.with(|b| {
        let mut b = b.borrow_mut();
        b.clear();
        b.resize(len as usize, 0);
        b.as_mut_ptr() as usize as u32
    })
}

/// Runs operation `op` on the request; returns the length of the response.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn dgdr_call(op: u32) -> u32 {
    let request = INPUT.with(|b| std::mem::take(&mut *b.borrow_mut()));
    let response = dgdr_core::api::call(op, &request);
    let len = response.len() as u32;
    OUTPUT.with(|b| *b.borrow_mut() = response);
    len
}

/// Where the last response is.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn dgdr_output() -> u32 {
    OUTPUT.with(|b| b.borrow().as_ptr() as usize as u32)
}
