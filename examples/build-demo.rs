//! Writes `demo/demo.tar`: a `docker save` archive of two builds of the same small app,
//! made to teach layered storage (see demo/README.md). Regenerate with
//! `cargo run --example build-demo`.
//!
//! `demo/app:v1` follows demo/Dockerfile.v1 and makes the classic mistakes: cleanup in a
//! separate RUN, a `.git` copied in and deleted later, a `chmod -R` that rewrites every
//! file, and a directory replaced wholesale (an opaque whiteout). `demo/app:v2` follows
//! demo/Dockerfile.v2: the same result, with its base layers shared with v1.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use support::{
    write_docker_archive_multi, Content, DockerLayout, HistoryEntry, ImageSpec, LayerSpec,
};

fn base() -> LayerSpec {
    LayerSpec::new()
        .dir("bin", 0o755)
        .content(
            "bin/busybox",
            Content::Random {
                len: 96 << 10,
                seed: 1,
            },
        )
        .with_last(|e| e.mode = 0o755)
        .symlink("bin/sh", "busybox")
        .symlink("bin/ls", "busybox")
        .dir("etc", 0o755)
        .file("etc/os-release", "NAME=\"Demo Linux\"\nVERSION_ID=1.0\n")
        .file(
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n",
        )
        .dir("lib", 0o755)
        .content(
            "lib/libc.so.6",
            Content::Random {
                len: 64 << 10,
                seed: 2,
            },
        )
        .dir("tmp", 0o1777)
        .dir("var/cache/apk", 0o755)
}

fn python(with_cache: bool) -> LayerSpec {
    let mut layer = LayerSpec::new().dir("usr/lib/python3", 0o755);
    for (i, module) in [
        "os", "re", "json", "http", "socket", "ssl", "email", "asyncio",
    ]
    .iter()
    .enumerate()
    {
        layer = layer.content(
            format!("usr/lib/python3/{module}.py"),
            Content::Text {
                len: 6 << 10,
                seed: 10 + i as u64,
            },
        );
    }
    layer = layer
        .content(
            "usr/bin/python3",
            Content::Random {
                len: 48 << 10,
                seed: 3,
            },
        )
        .with_last(|e| e.mode = 0o755);
    if with_cache {
        layer = layer.content(
            "var/cache/apk/APKINDEX.tar.gz",
            Content::Random {
                len: 160 << 10,
                seed: 4,
            },
        );
    }
    layer
}

fn app_sources(layer: LayerSpec) -> LayerSpec {
    layer
        .dir("app", 0o755)
        .content(
            "app/server.py",
            Content::Text {
                len: 3 << 10,
                seed: 20,
            },
        )
        .content(
            "app/models.py",
            Content::Text {
                len: 2 << 10,
                seed: 21,
            },
        )
        .file("app/requirements.txt", "flask==3.0\n")
}

fn main() -> std::io::Result<()> {
    let v1 = ImageSpec::new()
        .tag("demo/app:v1")
        .history(HistoryEntry::layer(
            "/bin/sh -c #(nop) ADD file:4f8b2c0d9e1a in / ",
        ))
        .layer(base())
        .history(HistoryEntry::empty("/bin/sh -c #(nop)  CMD [\"/bin/sh\"]"))
        .history(HistoryEntry::layer(
            "/bin/sh -c apk add --no-progress python3",
        ))
        .layer(python(true))
        .history(HistoryEntry::layer("/bin/sh -c rm -rf /var/cache/apk/*"))
        .layer(
            LayerSpec::new()
                .dir("var/cache/apk", 0o755)
                .whiteout("var/cache/apk/APKINDEX.tar.gz"),
        )
        .history(HistoryEntry::empty("/bin/sh -c #(nop) WORKDIR /app"))
        .history(HistoryEntry::layer(
            "/bin/sh -c #(nop) COPY dir:7a1c3e in /app ",
        ))
        .layer(
            app_sources(LayerSpec::new())
                .dir("app/.git/objects/pack", 0o755)
                .content(
                    "app/.git/objects/pack/pack-1.pack",
                    Content::Random {
                        len: 200 << 10,
                        seed: 5,
                    },
                )
                .file("app/.git/HEAD", "ref: refs/heads/main\n")
                .dir("app/static", 0o755)
                .content(
                    "app/static/app.js",
                    Content::Text {
                        len: 8 << 10,
                        seed: 22,
                    },
                )
                .content(
                    "app/static/site.css",
                    Content::Text {
                        len: 4 << 10,
                        seed: 23,
                    },
                ),
        )
        .history(HistoryEntry::layer("/bin/sh -c rm -rf /app/.git"))
        .layer(LayerSpec::new().dir("app", 0o755).whiteout("app/.git"))
        .history(HistoryEntry::layer("/bin/sh -c chmod -R a+rX,go-w /app"))
        .layer(
            app_sources(LayerSpec::new())
                .with_last(|e| e.mode = 0o444)
                .dir("app/static", 0o755)
                .content(
                    "app/static/app.js",
                    Content::Text {
                        len: 8 << 10,
                        seed: 22,
                    },
                )
                .with_last(|e| e.mode = 0o444)
                .content(
                    "app/static/site.css",
                    Content::Text {
                        len: 4 << 10,
                        seed: 23,
                    },
                )
                .with_last(|e| e.mode = 0o444),
        )
        .history(HistoryEntry::layer(
            "/bin/sh -c rm -rf /app/static && mkdir /app/static && python3 build_assets.py",
        ))
        .layer(
            LayerSpec::new()
                .dir("app/static", 0o755)
                .opaque("app/static")
                .content(
                    "app/static/bundle.min.js",
                    Content::Text {
                        len: 6 << 10,
                        seed: 24,
                    },
                ),
        )
        .history(HistoryEntry::empty("/bin/sh -c #(nop)  ENV PORT=8080"))
        .history(HistoryEntry::empty(
            "/bin/sh -c #(nop)  CMD [\"python3\" \"server.py\"]",
        ));

    // v2: same base layers (shared, stored once), cleanup in the same RUN, no .git
    // (.dockerignore), permissions set at COPY time, assets built before copying.
    let v2 = ImageSpec::new()
        .tag("demo/app:v2")
        .history(HistoryEntry::layer(
            "/bin/sh -c #(nop) ADD file:4f8b2c0d9e1a in / ",
        ))
        .layer(base())
        .history(HistoryEntry::empty("/bin/sh -c #(nop)  CMD [\"/bin/sh\"]"))
        .history(HistoryEntry::layer(
            "/bin/sh -c apk add --no-progress python3 && rm -rf /var/cache/apk/*",
        ))
        .layer(python(false))
        .history(HistoryEntry::empty("/bin/sh -c #(nop) WORKDIR /app"))
        .history(HistoryEntry::layer(
            "/bin/sh -c #(nop) COPY dir:9b2d4f in /app ",
        ))
        .layer(
            app_sources(LayerSpec::new())
                .dir("app/static", 0o755)
                .content(
                    "app/static/bundle.min.js",
                    Content::Text {
                        len: 6 << 10,
                        seed: 24,
                    },
                ),
        )
        .history(HistoryEntry::empty("/bin/sh -c #(nop)  ENV PORT=8080"))
        .history(HistoryEntry::empty(
            "/bin/sh -c #(nop)  CMD [\"python3\" \"server.py\"]",
        ));

    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/demo.tar");
    write_docker_archive_multi(&[v1, v2], DockerLayout::Legacy, &out)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}
