//! `layerscope fleet IMAGE…` end to end on a set built with the test kit: two apps on one
//! base, one app on a newer base, and an unrelated image, as OCI archives. Every size is
//! checked against the archives themselves: the test reads each archive's index,
//! manifest and config and takes each layer blob's size from its tar member header, then
//! does the set arithmetic on its own (unique, shared, stored, pull). The same set pushed
//! to a real registry (Debian's `docker-registry`, with skopeo) must give the same numbers,
//! and its access log must show every blob downloaded once.

mod support;

use layerscope::load::{LoadOptions, ParsedLayers};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Output};
use support::fleet_set::{blob_gets, build_set, DELETED};
use support::registry::{tools_present, Env, Registry};
use support::{ImageSpec, LayerSpec};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .arg("--quiet")
        .args(args)
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A layer of an archive as the archive itself says: (diff_id, blob digest, blob size
/// from the member's tar header).
type Layer = (String, String, u64);

/// Read an OCI archive's own description of its layers.
fn archive_layers(path: &Path) -> Vec<Layer> {
    let mut members: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
    let mut archive = tar::Archive::new(std::fs::File::open(path).unwrap());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        sizes.insert(name.clone(), entry.header().size().unwrap());
        if entry.header().size().unwrap() < 1 << 20 {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            members.insert(name, bytes);
        }
    }
    let blob = |digest: &str| format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"));
    let json = |name: &str| -> Value { serde_json::from_slice(&members[name]).unwrap() };
    let index = json("index.json");
    let manifest = json(&blob(index["manifests"][0]["digest"].as_str().unwrap()));
    let config = json(&blob(manifest["config"]["digest"].as_str().unwrap()));
    let diff_ids = config["rootfs"]["diff_ids"].as_array().unwrap();
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .zip(diff_ids)
        .map(|(layer, diff_id)| {
            let digest = layer["digest"].as_str().unwrap().to_string();
            let size = sizes[&blob(&digest)];
            (diff_id.as_str().unwrap().to_string(), digest, size)
        })
        .collect()
}

fn fleet_json(args: &[&str]) -> Value {
    let mut all = vec!["fleet", "--format", "json"];
    all.extend_from_slice(args);
    let out = run(&all);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The report's image names, in its order.
fn image_names(report: &Value) -> Vec<&str> {
    report["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect()
}

#[test]
fn shared_unique_stored_and_pull_bytes_equal_the_archives_blob_sizes() {
    let set = build_set();
    let names: Vec<&str> = set.images.iter().map(|(n, _)| n.as_str()).collect();
    let layers: Vec<Vec<Layer>> = set.images.iter().map(|(_, p)| archive_layers(p)).collect();

    // The oracle's arithmetic, from the archives alone.
    let mut holders: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    for (image, stack) in layers.iter().enumerate() {
        for (diff_id, _, _) in stack {
            holders.entry(diff_id).or_default().insert(image);
        }
    }
    let mut first_size: BTreeMap<&str, u64> = BTreeMap::new();
    let mut blob_size: BTreeMap<&str, u64> = BTreeMap::new();
    for (diff_id, digest, size) in layers.iter().flatten() {
        first_size.entry(diff_id).or_insert(*size);
        blob_size.insert(digest, *size);
    }
    let naive: u64 = layers.iter().flatten().map(|l| l.2).sum();
    let pull: u64 = first_size.values().sum();
    let stored: u64 = blob_size.values().sum();
    // The set is built so that sharing matters: the base's two layers are in two images.
    assert_eq!(holders.values().filter(|h| h.len() > 1).count(), 2);
    assert!(pull < naive);

    let report = fleet_json(&names);
    assert_eq!(report["schema"], "layerscope.fleet/v1");
    let totals = &report["totals"];
    assert_eq!(totals["images"], 4);
    assert_eq!(totals["layer_references"], 9);
    assert_eq!(totals["distinct_layers"], holders.len());
    assert_eq!(totals["naive_pull_bytes"], naive);
    assert_eq!(totals["pull_bytes"], pull);
    assert_eq!(totals["stored_bytes"], stored);
    // Each distinct layer was parsed once, though 9 layers were loaded.
    assert_eq!(totals["layers_parsed"], holders.len());

    for (index, image) in report["images"].as_array().unwrap().iter().enumerate() {
        assert_eq!(image["name"], names[index]);
        let (mut unique, mut shared) = (0u64, 0u64);
        for (diff_id, _, size) in &layers[index] {
            if holders[diff_id.as_str()].len() > 1 {
                shared += size;
            } else {
                unique += size;
            }
        }
        assert_eq!(image["unique"]["compressed_download"], unique, "{index}");
        assert_eq!(image["shared"]["compressed_download"], shared, "{index}");
        assert_eq!(image["size"]["compressed_download"], unique + shared);
        let keys: Vec<&str> = layers[index].iter().map(|l| l.0.as_str()).collect();
        assert_eq!(image["layers"], serde_json::json!(keys));
    }
    // Bases: app1 and app2 share their two bottom layers; app3 and other share none.
    let images = &report["images"];
    assert_eq!(images[0]["base"]["image"], names[1]);
    assert_eq!(images[1]["base"]["image"], names[0]);
    assert_eq!(images[1]["base"]["layers"], 2);
    assert_eq!(
        images[1]["base"]["bytes"]["compressed_download"],
        layers[1][0].2 + layers[1][1].2
    );
    assert!(images[2]["base"].is_null());
    assert!(images[3]["base"].is_null());
    // app2 deletes a file its base shipped: exactly its bytes are wasted.
    assert_eq!(images[1]["wasted_bytes"], DELETED);
    assert_eq!(images[0]["wasted_bytes"], 0);
    assert_eq!(images[0]["efficiency"], 1.0);

    // The base's secret, scanned once, is counted in both images on it, as `secrets`
    // counts it in each image alone; the others have none.
    for (index, (_, path)) in set.images.iter().enumerate() {
        let alone = run(&["secrets", "--format", "json", path.to_str().unwrap()]);
        let alone: Value = serde_json::from_slice(&alone.stdout).unwrap();
        let count = alone["findings"].as_array().unwrap().len();
        assert_eq!(count > 0, index < 2, "{index}: {alone}");
        assert_eq!(images[index]["secret_findings"], count, "{index}");
    }

    // Keyed by diff_id, each with its holders.
    let (base_diff_id, _, base_size) = &layers[0][0];
    let row = &report["layers"][base_diff_id];
    assert_eq!(row["images"], serde_json::json!([names[0], names[1]]));
    assert_eq!(row["compressed_download"], *base_size);

    // The sharing tree: three roots; the shared base is one run of two layers with a
    // branch per app.
    let tree = report["tree"].as_array().unwrap();
    assert_eq!(tree.len(), 3);
    assert_eq!(tree[0]["layers"].as_array().unwrap().len(), 2);
    assert_eq!(
        tree[0]["bytes"]["compressed_download"],
        layers[0][0].2 + layers[0][1].2
    );
    let ends: Vec<&Value> = tree[0]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["ends"][0])
        .collect();
    assert_eq!(ends, [names[0], names[1]]);
}

#[test]
fn text_and_markdown_name_every_image_and_the_totals() {
    let set = build_set();
    let names: Vec<&str> = set.images.iter().map(|(n, _)| n.as_str()).collect();
    let mut args = vec!["fleet"];
    args.extend_from_slice(&names);
    let text = run(&args);
    assert_eq!(text.status.code(), Some(0), "{}", stderr(&text));
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.starts_with("4 images, 9 layer references, 7 distinct layers (7 parsed), 2 shared")
    );
    for name in &names {
        assert!(text.contains(name), "{text}");
    }
    assert!(text.contains("base: 2 layers"), "{text}");
    assert!(text.contains("sharing tree"), "{text}");

    args.extend_from_slice(&["--format", "markdown"]);
    let md = run(&args);
    assert_eq!(md.status.code(), Some(0));
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(md.starts_with("## layerscope fleet\n"));
    // One table row per image.
    assert_eq!(
        md.lines().filter(|l| l.starts_with("| `")).count(),
        4,
        "{md}"
    );
}

#[test]
fn from_file_reads_one_image_a_line_and_skips_comments() {
    let set = build_set();
    let list = set._dir.path().join("images.txt");
    std::fs::write(
        &list,
        format!(
            "# the apps\n{}\n\n  {}  \n# done\n",
            set.images[0].0, set.images[1].0
        ),
    )
    .unwrap();
    let report = fleet_json(&["--from-file", list.to_str().unwrap(), &set.images[3].0]);
    assert_eq!(
        image_names(&report),
        [&set.images[3].0, &set.images[0].0, &set.images[1].0]
    );
}

#[test]
fn max_pull_and_max_unique_exit_1_when_exceeded() {
    let set = build_set();
    let names: Vec<&str> = set.images.iter().map(|(n, _)| n.as_str()).collect();
    let report = fleet_json(&names);
    let pull = report["totals"]["pull_bytes"].as_u64().unwrap();
    let most_unique = report["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["unique"]["compressed_download"].as_u64().unwrap())
        .max()
        .unwrap();
    let code = |flag: &str, limit: u64| {
        let limit = limit.to_string();
        let mut args = vec!["fleet", flag, &limit];
        args.extend_from_slice(&names);
        let out = run(&args);
        (out.status.code(), stderr(&out))
    };
    assert_eq!(code("--max-pull", pull).0, Some(0));
    let (over, message) = code("--max-pull", pull - 1);
    assert_eq!(over, Some(1));
    assert!(message.contains("max-pull"), "{message}");
    assert_eq!(code("--max-unique", most_unique).0, Some(0));
    assert_eq!(code("--max-unique", most_unique - 1).0, Some(1));

    // The same limits from the rules file's `fleet:` section; a flag overrides it.
    let config = set._dir.path().join("rules.yaml");
    std::fs::write(&config, format!("fleet:\n  max-pull: {}\n", pull - 1)).unwrap();
    let config = config.to_str().unwrap();
    let mut args = vec!["fleet", "--config", config];
    args.extend_from_slice(&names);
    assert_eq!(run(&args).status.code(), Some(1));
    let looser = pull.to_string();
    args.extend_from_slice(&["--max-pull", &looser]);
    assert_eq!(run(&args).status.code(), Some(0));
}

#[test]
fn an_image_that_fails_stops_the_run_or_with_keep_going_is_left_out() {
    let set = build_set();
    // A layer blob that is not a tar: its error names the layer, so fleet names the image.
    let corrupt = set._dir.path().join("corrupt.tar");
    let mut built = ImageSpec::new()
        .layer(LayerSpec::new().file("broken", "x"))
        .build();
    built.corrupt_layer_blob(
        0,
        [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff].to_vec(),
    );
    built.write_oci_archive(&corrupt).unwrap();
    let corrupt = corrupt.to_str().unwrap();
    let missing = set._dir.path().join("missing.tar");
    let missing = missing.to_str().unwrap();

    for bad in [corrupt, missing] {
        let out = run(&["fleet", &set.images[0].0, bad, &set.images[1].0]);
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty(), "no report without --keep-going");
        let message = stderr(&out);
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(message.contains(bad), "{message}");

        let out = run(&[
            "fleet",
            "--keep-going",
            "--format",
            "json",
            &set.images[0].0,
            bad,
            &set.images[1].0,
        ]);
        assert_eq!(out.status.code(), Some(2), "the exit code says one failed");
        let message = stderr(&out);
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(message.contains(bad), "{message}");
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["totals"]["images"], 2);
        assert_eq!(report["failed"][0]["image"], bad);
        assert_eq!(report["totals"]["shared_layers"], 2);
    }
}

#[test]
fn an_image_named_twice_or_no_image_is_a_usage_error() {
    let set = build_set();
    let out = run(&["fleet", &set.images[0].0, &set.images[0].0]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("named twice"));
    let out = run(&["fleet"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn from_a_registry_every_blob_is_downloaded_once_and_the_sizes_hold() {
    if !tools_present() {
        return;
    }
    let set = build_set();
    let registry = Registry::start_with(support::registry::Auth::None, true);
    let references = set.push_to(&registry);
    let layers: Vec<_> = set
        .images
        .iter()
        .map(|(_, path)| archive_layers(path))
        .collect();
    let pushed = registry.requests().lines().count();
    let env = Env::new(env!("CARGO_BIN_EXE_layerscope"));
    // Without the blob cache, a blob fetched twice would be two GETs.
    let (_, report) = fleet_uncached(env.command(), &references);

    let log = registry.requests();
    let pulled: String = log.lines().skip(pushed).map(|l| format!("{l}\n")).collect();
    let gets = blob_gets(&pulled);
    let layer_blobs: BTreeSet<&str> = layers.iter().flatten().map(|l| l.1.as_str()).collect();
    for digest in &layer_blobs {
        assert_eq!(gets.get(*digest), Some(&1), "{digest} in\n{pulled}");
    }
    // Nothing else but the configs is fetched as a blob, each once.
    assert!(gets.values().all(|&n| n == 1), "{gets:?}");
    assert_eq!(gets.len(), layer_blobs.len() + set.images.len());

    let naive: u64 = layers.iter().flatten().map(|l| l.2).sum();
    let mut first: BTreeMap<&str, u64> = BTreeMap::new();
    for (diff_id, _, size) in layers.iter().flatten() {
        first.entry(diff_id).or_insert(*size);
    }
    let totals = &report["totals"];
    assert_eq!(totals["naive_pull_bytes"], naive);
    assert_eq!(totals["pull_bytes"], first.values().sum::<u64>());
    assert_eq!(totals["layers_parsed"], first.len());
    let app1 = &report["images"][0];
    assert_eq!(
        app1["unique"]["compressed_download"], layers[0][2].2,
        "app1's one layer of its own"
    );
    assert_eq!(
        app1["shared"]["compressed_download"],
        layers[0][0].2 + layers[0][1].2
    );

    // The text and Markdown reports of the same pull name every image and give the JSON's
    // totals; printed (with --nocapture) as the record of `fleet` on this set.
    let human = |key: &str| layerscope::size::human(totals[key].as_u64().unwrap()).to_string();
    for format in ["text", "markdown"] {
        let out = env
            .command()
            .args(["--quiet", "fleet", "--format", format])
            .args(&references)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let shown = String::from_utf8(out.stdout).unwrap();
        for reference in &references {
            let name = reference.trim_start_matches("registry://");
            assert!(shown.contains(name), "{format} lacks {name}:\n{shown}");
        }
        for key in ["pull_bytes", "naive_pull_bytes", "stored_bytes"] {
            assert!(
                shown.contains(&human(key)),
                "{format} lacks {key}:\n{shown}"
            );
        }
        println!("--- fleet --format {format} over the registry\n{shown}");
    }

    // The same images named by a Compose file (the specification's format), with a
    // build-only service listed as skipped: the same totals.
    let compose = env.home.path().join("compose.yaml");
    let mut text = String::from("name: shop\nservices:\n");
    for (index, reference) in references.iter().enumerate() {
        let image = reference.trim_start_matches("registry://");
        text += &format!("  svc{index}:\n    image: {image}\n    restart: always\n");
    }
    text += "  frontend:\n    build:\n      context: ./frontend\n";
    std::fs::write(&compose, text).unwrap();
    let out = env
        .command()
        .args([
            "--quiet", "--source", "registry", "fleet", "--format", "json",
        ])
        .arg("--compose")
        .arg(&compose)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let from_compose: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(from_compose["totals"], report["totals"]);
    assert_eq!(from_compose["skipped"][0]["service"], "frontend");
    assert!(from_compose["skipped"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("only build:"));

    // Every tag of one repository: the same set. (Debian's registry, distribution 2.8,
    // sends the whole tag list on one page whatever `n` asks; the pages are followed in
    // tests/hostile_registry.rs, on a server that pages.)
    for (index, (_, path)) in set.images.iter().enumerate() {
        registry.push(path, &format!("family:t{index}"), false, None);
    }
    let out = env
        .command()
        .args([
            "--quiet",
            "fleet",
            "--format",
            "json",
            "--all-tags",
            "--tag-page",
            "2",
        ])
        .arg(format!("registry://{}/family", registry.host()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let tagged: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut names = image_names(&tagged);
    names.sort();
    let expected: Vec<String> = (0..4)
        .map(|i| format!("registry://{}/family:t{i}", registry.host()))
        .collect();
    assert_eq!(names, expected);
    assert_eq!(tagged["totals"], report["totals"]);
}

/// What the set loader handed back, by index: the image's layer count, or its error.
type Handed = Vec<(usize, Result<usize, String>)>;

/// Runs the library's set loader over `specs` with a fresh [`ParsedLayers`]: the indexes
/// handed back (in the order they came) with each image's layer count or error, and the
/// run's parsed layers. `stop_after` ends the run after that many images.
/// A fleet opens its registry's client several times per image (to describe it, to parse
/// ahead, to load it); a credential helper, which may take a second (a cloud login), is
/// asked once per registry and helper all the same.
#[test]
fn a_credential_helper_is_asked_once_for_a_whole_fleet() {
    if !tools_present() {
        return;
    }
    let set = build_set();
    let registry = Registry::start(support::registry::Auth::None);
    let references = set.push_to(&registry);
    let env = Env::new(env!("CARGO_BIN_EXE_layerscope"));
    let (path, log) = env.credential_helper(&registry.host(), "s3cret-horse");
    let mut command = env.command();
    command.env("PATH", path);
    let (out, report) = fleet_uncached(command, &references);
    assert_eq!(report["images"].as_array().unwrap().len(), references.len());
    let asked = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        asked.lines().collect::<Vec<_>>(),
        [registry.host()],
        "the helper is asked once, for the registry"
    );
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(!printed.contains("s3cret-horse"));
}

/// `fleet --format json` over `references` with no blob cache, run as `command` (an
/// environment's) sets it up; it must succeed. Its output, and the report.
fn fleet_uncached(mut command: Command, references: &[String]) -> (Output, Value) {
    let out = command
        .args(["--quiet", "--no-cache", "fleet", "--format", "json"])
        .args(references)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = serde_json::from_slice(&out.stdout).unwrap();
    (out, report)
}

fn load_set(
    specs: Vec<layerscope::Result<layerscope::source::spec::ImageSpec>>,
    registry: layerscope::source::registry::RegistryOptions,
    stop_after: usize,
) -> (Handed, std::sync::Arc<ParsedLayers>) {
    let layers = std::sync::Arc::new(ParsedLayers::new());
    let options = LoadOptions {
        layers: Some(layers.clone()),
        registry,
        ..Default::default()
    };
    let mut handed = Vec::new();
    let measure = |_: usize, loaded: layerscope::Result<layerscope::load::LoadedImage>| {
        loaded.map(|l| l.layers.len()).map_err(|e| e.to_string())
    };
    layerscope::load::load_set(specs, &options, &measure, &mut |index, result| {
        handed.push((index, result));
        handed.len() < stop_after
    });
    (handed, layers)
}

/// Distinct diff_ids among the images' layers.
fn distinct(layers: &[Vec<Layer>]) -> usize {
    let ids: BTreeSet<&str> = layers.iter().flatten().map(|l| l.0.as_str()).collect();
    ids.len()
}

#[test]
fn the_set_loader_hands_images_back_in_order_each_layer_parsed_once_and_none_held_after() {
    use layerscope::source::spec::ImageSpec as Spec;
    let set = build_set();
    let layers: Vec<Vec<Layer>> = set.images.iter().map(|(_, p)| archive_layers(p)).collect();
    let mut specs: Vec<_> = set
        .images
        .iter()
        .map(|(name, _)| Ok(Spec::Path(name.clone())))
        .collect();
    // A name that did not resolve keeps its place among the others.
    specs.insert(
        2,
        Err(layerscope::Error::Usage("no such image: nowhere".into())),
    );
    let (handed, parsed) = load_set(specs, Default::default(), usize::MAX);
    let indexes: Vec<usize> = handed.iter().map(|h| h.0).collect();
    assert_eq!(indexes, [0, 1, 2, 3, 4], "every image, in input order");
    let counts: Vec<_> = handed.iter().map(|h| h.1.clone()).collect();
    assert_eq!(counts[2], Err("no such image: nowhere".to_string()));
    let expected: Vec<_> = layers.iter().map(|l| Ok(l.len())).collect();
    assert_eq!([&counts[..2], &counts[3..]].concat(), expected);
    // Loaders and parsers ahead run at once, yet each distinct layer is parsed once, and
    // every one is dropped after the last image that needs it.
    assert_eq!(parsed.parsed(), distinct(&layers));
    assert_eq!(parsed.held(), 0, "a layer is held past its last use");
    assert_eq!(parsed.ahead_bytes(), 0);

    // Told to stop after the first image, the run hands back no other.
    let specs = set
        .images
        .iter()
        .map(|(name, _)| Ok(Spec::Path(name.clone())))
        .collect();
    let (handed, _) = load_set(specs, Default::default(), 1);
    assert_eq!(handed.len(), 1);
    assert_eq!(handed[0].0, 0);
}

#[test]
fn registry_images_in_flight_at_once_fetch_each_blob_once_and_hold_no_layer_after() {
    if !tools_present() {
        return;
    }
    let set = build_set();
    let registry = Registry::start_with(support::registry::Auth::None, true);
    let mut specs = Vec::new();
    let mut layers = Vec::new();
    for (name, path) in &set.images {
        let repo = Path::new(name).file_stem().unwrap().to_str().unwrap();
        registry.push(path, &format!("{repo}:v1"), false, None);
        let reference = format!("registry://{}/{repo}:v1", registry.host());
        specs.push(layerscope::open::Opening::default().resolve(&reference));
        layers.push(archive_layers(path));
    }
    let pushed = registry.requests().lines().count();
    // Without the blob cache, a blob fetched twice would be two GETs. Two loaders and
    // two parsers ahead (on two cores or more) start app1 and app2 together, and both
    // need the base's two layers.
    let options = layerscope::source::registry::RegistryOptions {
        no_cache: true,
        ..Default::default()
    };
    let (handed, parsed) = load_set(specs, options, usize::MAX);
    let counts: Vec<_> = handed.iter().map(|h| h.1.clone()).collect();
    let expected: Vec<_> = layers.iter().map(|l| Ok(l.len())).collect();
    assert_eq!(counts, expected);

    let log = registry.requests();
    let pulled: String = log.lines().skip(pushed).map(|l| format!("{l}\n")).collect();
    let gets = blob_gets(&pulled);
    assert!(gets.values().all(|&n| n == 1), "{gets:?} in\n{pulled}");
    let manifests = pulled
        .lines()
        .filter(|l| l.contains("\"GET /v2/") && l.contains("/manifests/"))
        .count();
    assert_eq!(
        manifests,
        set.images.len(),
        "each manifest fetched once:\n{pulled}"
    );
    // The manifests were read first, so the registry's layers are dropped after their last
    // use too.
    assert_eq!(parsed.parsed(), distinct(&layers));
    assert_eq!(parsed.held(), 0, "a layer is held past its last use");
}

#[test]
fn an_image_on_stdin_joins_the_set_and_its_layers_are_counted_as_parsed() {
    let set = build_set();
    let by_path = fleet_json(&[&set.images[0].0, &set.images[1].0]);
    let out = Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .env_remove("CI")
        .args([
            "--quiet",
            "fleet",
            "--format",
            "json",
            "-",
            &set.images[1].0,
        ])
        .stdin(std::fs::File::open(&set.images[0].1).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let by_stdin: Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "pull_bytes",
        "naive_pull_bytes",
        "distinct_layers",
        "shared_layers",
    ] {
        assert_eq!(by_stdin["totals"][key], by_path["totals"][key], "{key}");
    }
    assert_eq!(by_path["totals"]["layers_parsed"], 4);
    // A stream is parsed as it passes and not kept: its three layers, then app2's three.
    assert_eq!(by_stdin["totals"]["layers_parsed"], 6);
    assert_eq!(
        by_stdin["images"][1]["unique"],
        by_path["images"][1]["unique"]
    );
}

/// Every key of a real report (a set with a failure and a skipped service) is documented in
/// docs/fleet-json-schema.md, so the document cannot drift from the output.
#[test]
fn every_key_of_the_json_is_documented() {
    let set = build_set();
    let compose = set._dir.path().join("compose.yaml");
    std::fs::write(&compose, "services:\n  web:\n    build: .\n").unwrap();
    let missing = set._dir.path().join("missing.tar");
    let out = run(&[
        "fleet",
        "--format",
        "json",
        "--keep-going",
        "--compose",
        compose.to_str().unwrap(),
        &set.images[0].0,
        &set.images[1].0,
        missing.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/fleet-json-schema.md"),
    )
    .unwrap();
    fn keys(value: &Value, under_layers: bool, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    // The layers map is keyed by diff_id, not by field names.
                    if !under_layers {
                        out.insert(key.clone());
                    }
                    keys(child, key == "layers" && child.is_object(), out);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| keys(i, false, out)),
            _ => {}
        }
    }
    let mut found = BTreeSet::new();
    keys(&report, false, &mut found);
    assert!(found.contains("secret_findings") && found.contains("skipped"));
    for key in found {
        assert!(
            doc.contains(&format!("\"{key}\":")),
            "{key} is not in docs/fleet-json-schema.md"
        );
    }
}
