// SPDX-License-Identifier: Apache-2.0
// bench/compute's Wasmtime harness: the same kernels.wasm the V8 column runs, compiled by
// Wasmtime exactly as the native agent configures it (Cranelift, epoch interruption on, so the
// deadline checks the agent pays are in the figure), timed with the same method as run.ts and
// native.c (calibrate a batch to ~budget/7, run 7 batches, report the fastest). Prints
// { kernel: { kernelNs, copyNs, check } }. Built on demand: cargo build --release --example kernel_bench
//   kernel_bench <kernels.wasm> <input dir> <budget ms>
use std::time::Instant;
use wasmtime::{Config, Engine, FuncType, Linker, Memory, Module, Store, TypedFunc, Val, ValType};

fn measure(budget_ns: f64, mut op: impl FnMut()) -> f64 {
    op();
    let mut reps = 1u64;
    loop {
        let t0 = Instant::now();
        for _ in 0..reps {
            op();
        }
        if t0.elapsed().as_nanos() as f64 >= budget_ns / 7.0 || reps >= 1 << 24 {
            break;
        }
        reps *= 2;
    }
    (0..7)
        .map(|_| {
            let t0 = Instant::now();
            for _ in 0..reps {
                op();
            }
            t0.elapsed().as_nanos() as f64 / reps as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn read(dir: &str, name: &str) -> Vec<u8> {
    std::fs::read(format!("{dir}/{name}")).unwrap_or_else(|e| panic!("{dir}/{name}: {e}"))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [wasm, dir, budget] = &args[..] else {
        eprintln!("usage: kernel_bench <kernels.wasm> <input dir> <budget ms>");
        std::process::exit(2);
    };
    let budget = budget.parse::<f64>().expect("budget in ms") * 1e6;
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.cranelift_opt_level(wasmtime::OptLevel::Speed);
    let engine = Engine::new(&config).unwrap();
    let module = Module::from_file(&engine, wasm).unwrap();
    let mut linker: Linker<()> = Linker::new(&engine);
    // The kernels make no system calls; any WASI import the libc pulls in answers ENOSYS.
    for import in module.imports() {
        if let wasmtime::ExternType::Func(f) = import.ty() {
            let ty = FuncType::new(&engine, f.params(), f.results());
            let results: Vec<ValType> = f.results().collect();
            linker
                .func_new(import.module(), import.name(), ty, move |_, _, out: &mut [Val]| {
                    for (slot, t) in out.iter_mut().zip(&results) {
                        *slot = if matches!(t, ValType::I64) { Val::I64(52) } else { Val::I32(52) };
                    }
                    Ok(())
                })
                .unwrap();
        }
    }
    let mut store = Store::new(&engine, ());
    store.set_epoch_deadline(u64::MAX / 2);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let memory: Memory = instance.get_memory(&mut store, "memory").unwrap();
    instance.get_typed_func::<(), ()>(&mut store, "_initialize").unwrap().call(&mut store, ()).unwrap();
    let alloc: TypedFunc<i32, i32> = instance.get_typed_func(&mut store, "bench_alloc").unwrap();
    let a = |store: &mut Store<()>, n: usize| -> usize {
        let p = alloc.call(&mut *store, n as i32).unwrap();
        assert!(p != 0, "wasm allocation failed");
        p as usize
    };

    let meta = read(dir, "maze.meta");
    let m: Vec<i32> = meta.chunks(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    let (w, h, start, goal) = (m[0], m[1], m[2], m[3]);
    let src_grid = read(dir, "maze.grid");
    let n = (w * h) as usize;
    let (grid, dist, queue) = (a(&mut store, n), a(&mut store, n * 4), a(&mut store, n * 4));
    memory.data_mut(&mut store)[grid..grid + n].copy_from_slice(&src_grid);
    let bfs: TypedFunc<(i32, i32, i32, i32, i32, i32, i32), i32> =
        instance.get_typed_func(&mut store, "maze_bfs").unwrap();
    let maze_args = (grid as i32, w, h, start, goal, dist as i32, queue as i32);
    let mut steps = 0;
    let maze_k = measure(budget, || steps = bfs.call(&mut store, maze_args).unwrap());
    let maze_c = measure(budget, || {
        memory.data_mut(&mut store)[grid..grid + n].copy_from_slice(&src_grid);
        steps = bfs.call(&mut store, maze_args).unwrap();
    });

    let rgba = read(dir, "frame.rgba");
    let pixels = 640 * 480;
    let (src, gray) = (a(&mut store, pixels * 4), a(&mut store, pixels));
    memory.data_mut(&mut store)[src..src + pixels * 4].copy_from_slice(&rgba);
    let convert: TypedFunc<(i32, i32, i32, i32), ()> = instance.get_typed_func(&mut store, "gray_convert").unwrap();
    let gray_args = (src as i32, gray as i32, pixels as i32, 4);
    let gray_k = measure(budget, || convert.call(&mut store, gray_args).unwrap());
    let mut gray_out = vec![0u8; pixels];
    let gray_c = measure(budget, || {
        memory.data_mut(&mut store)[src..src + pixels * 4].copy_from_slice(&rgba);
        convert.call(&mut store, gray_args).unwrap();
        gray_out.copy_from_slice(&memory.data(&store)[gray..gray + pixels]);
    });
    let gray_sum: u64 = memory.data(&store)[gray..gray + pixels].iter().map(|&b| u64::from(b)).sum();

    let (ma, mb) = (read(dir, "matmul.a"), read(dir, "matmul.b"));
    let bytes = ma.len();
    let (pa, pb, pc) = (a(&mut store, bytes), a(&mut store, bytes), a(&mut store, bytes));
    memory.data_mut(&mut store)[pa..pa + bytes].copy_from_slice(&ma);
    memory.data_mut(&mut store)[pb..pb + bytes].copy_from_slice(&mb);
    let mm: TypedFunc<(i32, i32, i32, i32), ()> = instance.get_typed_func(&mut store, "matmul").unwrap();
    let mm_args = (pa as i32, pb as i32, pc as i32, 128);
    let mm_k = measure(budget, || mm.call(&mut store, mm_args).unwrap());
    let mut mm_out = vec![0u8; bytes];
    let mm_c = measure(budget, || {
        memory.data_mut(&mut store)[pa..pa + bytes].copy_from_slice(&ma);
        memory.data_mut(&mut store)[pb..pb + bytes].copy_from_slice(&mb);
        mm.call(&mut store, mm_args).unwrap();
        mm_out.copy_from_slice(&memory.data(&store)[pc..pc + bytes]);
    });
    let mm_sum: f64 = memory.data(&store)[pc..pc + bytes]
        .chunks(4)
        .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .sum();

    let features = read(dir, "mlp.features");
    let count = features.len() / 32;
    let (feat, classes) = (a(&mut store, features.len()), a(&mut store, count * 4));
    memory.data_mut(&mut store)[feat..feat + features.len()].copy_from_slice(&features);
    let mlp: TypedFunc<(i32, i32, i32), ()> = instance.get_typed_func(&mut store, "mlp_predict_batch").unwrap();
    let mlp_args = (feat as i32, count as i32, classes as i32);
    let ml_k = measure(budget, || mlp.call(&mut store, mlp_args).unwrap());
    let mut ml_out = vec![0u8; count * 4];
    let ml_c = measure(budget, || {
        memory.data_mut(&mut store)[feat..feat + features.len()].copy_from_slice(&features);
        mlp.call(&mut store, mlp_args).unwrap();
        ml_out.copy_from_slice(&memory.data(&store)[classes..classes + count * 4]);
    });
    let ml_sum: i64 = memory.data(&store)[classes..classes + count * 4]
        .chunks(4)
        .enumerate()
        .map(|(i, c)| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])) * (i as i64 % 7 + 1))
        .sum();

    println!(
        "{{\"maze\":{{\"kernelNs\":{maze_k:.0},\"copyNs\":{maze_c:.0},\"check\":{steps}}},\"grayscale\":{{\"kernelNs\":{gray_k:.0},\"copyNs\":{gray_c:.0},\"check\":{gray_sum}}},\"matmul\":{{\"kernelNs\":{mm_k:.0},\"copyNs\":{mm_c:.0},\"check\":{mm_sum:.6e}}},\"inference\":{{\"kernelNs\":{ml_k:.0},\"copyNs\":{ml_c:.0},\"check\":{ml_sum}}}}}"
    );
}
