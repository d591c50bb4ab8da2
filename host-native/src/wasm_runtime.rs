//! Runs the core's `.wasm` build under wasmtime, with memory and fuel limits.
//!
//! The admission webhook can serve from this sandbox instead of linking the
//! core natively, and the parity tests use it to show that the wasm core
//! answers byte for byte like the native one. The guest side of the ABI is
//! `dgdr-wasm`'s `abi` module.

use wasmtime::{Config, Engine, Instance, Linker, Module, Store, StoreLimits, StoreLimitsBuilder};

/// Resource limits of one call.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Linear memory the guest may grow to, in bytes.
    pub memory_bytes: usize,
    /// Instructions (roughly) the guest may execute: a deterministic time limit.
    pub fuel: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 256 << 20,
            fuel: 20_000_000_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WasmError {
    #[error("cannot load the wasm module: {0}")]
    Load(String),
    #[error("the wasm module does not export `{0}`; is it dgdr-wasm built with `--features abi`?")]
    MissingExport(&'static str),
    #[error("the wasm call trapped or ran out of its limits: {0}")]
    Trap(String),
    #[error("the wasm guest returned an out-of-bounds buffer")]
    BadBuffer,
}

/// A compiled core module; cheap to call repeatedly (each call gets a fresh instance).
pub struct WasmCore {
    engine: Engine,
    module: Module,
    limits: Limits,
}

struct State {
    limits: StoreLimits,
}

impl WasmCore {
    /// Compiles the module from its bytes.
    pub fn new(wasm: &[u8], limits: Limits) -> Result<Self, WasmError> {
        let mut config = Config::new();
        config.consume_fuel(true);
        let engine = Engine::new(&config).map_err(|e| WasmError::Load(e.to_string()))?;
        let module = Module::new(&engine, wasm).map_err(|e| WasmError::Load(e.to_string()))?;
        Ok(WasmCore {
            engine,
            module,
            limits,
        })
    }

    /// Reads and compiles a module file.
    pub fn from_file(path: &std::path::Path, limits: Limits) -> Result<Self, WasmError> {
        let bytes =
            std::fs::read(path).map_err(|e| WasmError::Load(format!("{}: {e}", path.display())))?;
        Self::new(&bytes, limits)
    }

    /// The same compiled module under other limits (no recompilation).
    pub fn with_limits(&self, limits: Limits) -> WasmCore {
        WasmCore {
            engine: self.engine.clone(),
            module: self.module.clone(),
            limits,
        }
    }

    /// Runs `dgdr_core::api::call(op, request)` inside the sandbox.
    pub fn call(&self, op: u32, request: &[u8]) -> Result<Vec<u8>, WasmError> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.limits.memory_bytes)
            .instances(1)
            .build();
        let mut store = Store::new(&self.engine, State { limits });
        store.limiter(|s| &mut s.limits);
        store
            .set_fuel(self.limits.fuel)
            .map_err(|e| WasmError::Trap(e.to_string()))?;
        let linker: Linker<State> = Linker::new(&self.engine);
        let instance: Instance = linker
            .instantiate(&mut store, &self.module)
            .map_err(|e| WasmError::Load(e.to_string()))?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or(WasmError::MissingExport("memory"))?;
        let input = instance
            .get_typed_func::<u32, u32>(&mut store, "dgdr_input")
            .map_err(|_| WasmError::MissingExport("dgdr_input"))?;
        let run = instance
            .get_typed_func::<u32, u32>(&mut store, "dgdr_call")
            .map_err(|_| WasmError::MissingExport("dgdr_call"))?;
        let output = instance
            .get_typed_func::<(), u32>(&mut store, "dgdr_output")
            .map_err(|_| WasmError::MissingExport("dgdr_output"))?;

        let len = u32::try_from(request.len()).map_err(|_| WasmError::BadBuffer)?;
        let at = input
            .call(&mut store, len)
            .map_err(|e| WasmError::Trap(e.to_string()))?;
        memory
            .write(&mut store, at as usize, request)
            .map_err(|_| WasmError::BadBuffer)?;
        let out_len = run
            .call(&mut store, op)
            .map_err(|e| WasmError::Trap(e.to_string()))?;
        let out_at = output
            .call(&mut store, ())
            .map_err(|e| WasmError::Trap(e.to_string()))?;
        let mut buf = vec![0u8; out_len as usize];
        memory
            .read(&store, out_at as usize, &mut buf)
            .map_err(|_| WasmError::BadBuffer)?;
        Ok(buf)
    }
}
