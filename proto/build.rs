//! Compiles the qraft.v1 protocol with protox (pure Rust), so building needs no system protoc.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/qraft/v1/tasks.proto",
        "proto/qraft/v1/admin.proto",
        "proto/qraft/v1/control.proto",
        "proto/qraft/v1/flows.proto",
        "proto/qraft/v1/raft.proto",
        "proto/qraft/v1/worker.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .bytes(".qraft.v1.RaftPayload.data")
        .bytes(".qraft.v1.SnapshotChunk.data")
        .compile_fds(descriptors)?;
    Ok(())
}
