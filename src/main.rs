use std::process::ExitCode;

/// jemalloc instead of glibc's allocator: a score allocates and frees many small strings on the
/// runtime's threads and the audit writer's, where glibc's arenas spent about a tenth of the
/// server's CPU (`_int_malloc`, `_int_free`, `malloc_consolidate` in a profile under load).
/// Measured (docs/benchmarks.md): scores/s up by about a fifth; `train` time unchanged, its peak
/// memory up 4 %. mimalloc, also tried, slowed `train` by a third.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    creditbridge::cli::main()
}
