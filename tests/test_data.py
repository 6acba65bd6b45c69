import gzip
import hashlib

import numpy as np
import pytest
import torch
from conftest import CLASSES, IDX_FILES, gzip_bytes, idx_bytes, write_idx_dataset

from aeflow.run import data
from aeflow.run.data import DataError

IMAGES = IDX_FILES["train_images"]
LABELS = IDX_FILES["train_labels"]


def payload(path, header_bytes):
    return np.frombuffer(gzip.decompress(path.read_bytes())[header_bytes:], dtype=np.uint8)


# --- the synthetic files themselves ---------------------------------------------------


def test_write_idx_dataset_checksums_and_balance(tmp_path, idx_dir, idx_checksums):
    sums = write_idx_dataset(tmp_path / "again")
    assert sums == idx_checksums  # deterministic for a seed
    assert set(sums) == set(IDX_FILES.values())
    for name, expected in sums.items():
        raw = (tmp_path / "again" / name).read_bytes()
        assert hashlib.md5(raw).hexdigest() == expected["md5"]
        assert hashlib.sha256(gzip.decompress(raw)).hexdigest() == expected["sha256"]
    assert write_idx_dataset(tmp_path / "other", seed=1) != sums
    labels = data.read_idx(idx_dir / LABELS, "labels")
    assert torch.bincount(labels.long()).tolist() == [30] * 10


# --- read_idx -------------------------------------------------------------------------


def test_read_idx_round_trips_the_synthetic_files(idx_dir):
    images = data.read_idx(idx_dir / IMAGES, "images")
    labels = data.read_idx(idx_dir / LABELS, "labels")
    assert images.shape == (300, 28, 28) and images.dtype == torch.uint8
    assert labels.shape == (300,) and labels.dtype == torch.uint8
    assert np.array_equal(images.numpy().ravel(), payload(idx_dir / IMAGES, 16))
    assert np.array_equal(labels.numpy(), payload(idx_dir / LABELS, 8))
    test_images = data.read_idx(idx_dir / IDX_FILES["test_images"], "images")
    assert test_images.shape == (100, 28, 28)


def test_read_idx_round_trips_an_array(tmp_path):
    rng = np.random.default_rng(3)
    array = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    path = tmp_path / "x.gz"
    path.write_bytes(gzip_bytes(idx_bytes(array)))
    assert np.array_equal(data.read_idx(path, "images").numpy(), array)
    labels = np.array([9, 0, 3], dtype=np.uint8)
    path.write_bytes(gzip_bytes(idx_bytes(labels)))
    assert data.read_idx(path, "labels").tolist() == [9, 0, 3]


def test_read_idx_wrong_magic(tmp_path, idx_dir):
    path = tmp_path / "bad-images.gz"
    path.write_bytes(gzip_bytes(idx_bytes(np.zeros((2, 28, 28)), magic=2049)))
    with pytest.raises(DataError, match=r"bad-images\.gz.*magic number 2049.*2051"):
        data.read_idx(path, "images")
    # a labels file read as images
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz.*magic"):
        data.read_idx(idx_dir / LABELS, "images")


def test_read_idx_empty_content(tmp_path):
    path = tmp_path / "empty.gz"
    path.write_bytes(gzip_bytes(b""))
    with pytest.raises(DataError, match=r"empty\.gz.*magic"):
        data.read_idx(path, "labels")


def test_read_idx_truncated_gzip(tmp_path, idx_dir):
    raw = (idx_dir / IMAGES).read_bytes()
    path = tmp_path / "cut-images.gz"
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match=r"cut-images\.gz.*truncated"):
        data.read_idx(path, "images")


def test_read_idx_not_gzip(tmp_path):
    path = tmp_path / "plain.gz"
    path.write_bytes(idx_bytes(np.zeros(3)))
    with pytest.raises(DataError, match=r"plain\.gz"):
        data.read_idx(path, "labels")


def test_read_idx_payload_shorter_than_header(tmp_path):
    content = idx_bytes(np.zeros((4, 28, 28)))
    path = tmp_path / "short.gz"
    path.write_bytes(gzip_bytes(content[:-100]))
    with pytest.raises(DataError, match=r"short\.gz.*malformed"):
        data.read_idx(path, "images")


def test_read_idx_images_not_28x28(tmp_path):
    path = tmp_path / "small-images.gz"
    path.write_bytes(gzip_bytes(idx_bytes(np.zeros((3, 27, 27)))))
    with pytest.raises(DataError, match=r"small-images\.gz.*28×28"):
        data.read_idx(path, "images")


# --- verify / fetch ---------------------------------------------------------------------


def test_verify(idx_dir, idx_checksums):
    raw = (idx_dir / IMAGES).read_bytes()
    good = idx_checksums[IMAGES]
    data.verify(IMAGES, raw, good["md5"], None)
    data.verify(IMAGES, raw, None, good["sha256"])
    with pytest.raises(DataError, match="no checksum"):
        data.verify(IMAGES, raw, None, None)
    with pytest.raises(DataError, match=f"{IMAGES}: checksum mismatch"):
        data.verify(IMAGES, raw, "0" * 32, "0" * 64)


def make_sources(tmp_path, idx_dir):
    """Three local sources: one lacking the file, one with a corrupted copy, a good one."""
    empty = tmp_path / "empty"
    empty.mkdir()
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    raw = bytearray((idx_dir / IMAGES).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (corrupt / IMAGES).write_bytes(bytes(raw))
    return empty, corrupt


def test_fetch_uses_first_good_source(tmp_path, idx_dir, idx_checksums):
    empty, corrupt = make_sources(tmp_path, idx_dir)
    dest = tmp_path / "out" / IMAGES
    sums = idx_checksums[IMAGES]
    used, skipped = data.fetch(IMAGES, [str(empty), str(corrupt), str(idx_dir)], dest, **sums)
    assert used == str(idx_dir)
    assert len(skipped) == 2 and str(corrupt) in skipped[1] and "gzip" in skipped[1]
    assert dest.read_bytes() == (idx_dir / IMAGES).read_bytes()
    # the first source wins when it is good
    other = tmp_path / "other"
    write_idx_dataset(other)
    dest2 = tmp_path / "out2" / IMAGES
    assert data.fetch(IMAGES, [str(other), str(idx_dir)], dest2, **sums) == (str(other), [])


def test_fetch_from_url_source(tmp_path, idx_dir, idx_checksums):
    dest = tmp_path / IMAGES
    used, _ = data.fetch(IMAGES, [idx_dir.as_uri() + "/"], dest, **idx_checksums[IMAGES])
    assert used == idx_dir.as_uri() + "/"
    assert dest.read_bytes() == (idx_dir / IMAGES).read_bytes()


def test_fetch_all_sources_fail(tmp_path, idx_dir, idx_checksums):
    empty, corrupt = make_sources(tmp_path, idx_dir)
    out = tmp_path / "out"
    out.mkdir()
    dest = out / IMAGES
    missing_url = (tmp_path / "nowhere").as_uri()
    sources = [str(empty), str(corrupt), missing_url]
    with pytest.raises(DataError) as info:
        data.fetch(IMAGES, sources, dest, **idx_checksums[IMAGES])
    message = str(info.value)
    assert IMAGES in message
    for source in sources:
        assert source in message
    assert message.index(str(empty)) < message.index(str(corrupt)) < message.index(missing_url)
    assert "no such file" in message
    assert not dest.exists()
    assert list(out.iterdir()) == []  # no temporary file left behind


def test_fetch_wrong_checksum_everywhere(tmp_path, idx_dir, idx_checksums):
    dest = tmp_path / IMAGES
    wrong = {"md5": "0" * 32, "sha256": "1" * 64}
    with pytest.raises(DataError, match=f"(?s){IMAGES}.*{idx_dir}.*checksum mismatch"):
        data.fetch(IMAGES, [str(idx_dir)], dest, **wrong)
    assert not dest.exists() and list(tmp_path.iterdir()) == []


def test_fetch_no_sources(tmp_path):
    with pytest.raises(DataError, match="none configured"):
        data.fetch(IMAGES, [], tmp_path / IMAGES, md5="0" * 32)


def test_fetch_accepts_recompressed_content(tmp_path, idx_dir, idx_checksums):
    """Same IDX content, another gzip header (as Debian ships it): md5 differs, sha256 ok."""
    content = gzip.decompress((idx_dir / IMAGES).read_bytes())
    recompressed = gzip_bytes(content, mtime=123456789)
    source = tmp_path / "debian"
    source.mkdir()
    (source / IMAGES).write_bytes(recompressed)
    sums = idx_checksums[IMAGES]
    assert hashlib.md5(recompressed).hexdigest() != sums["md5"]
    dest = tmp_path / "out" / IMAGES
    assert data.fetch(IMAGES, [str(source)], dest, **sums)[0] == str(source)
    assert dest.read_bytes() == recompressed
    # with the md5 alone it is refused
    with pytest.raises(DataError, match="checksum mismatch"):
        data.fetch(IMAGES, [str(source)], tmp_path / "out2" / IMAGES, md5=sums["md5"])


# --- split -----------------------------------------------------------------------------


def numbered(n, labels_seed=0):
    """Images whose first two pixels spell their index, and balanced labels."""
    images = torch.zeros(n, 28, 28, dtype=torch.uint8)
    index = torch.arange(n)
    images[:, 0, 0] = (index % 256).to(torch.uint8)
    images[:, 0, 1] = (index // 256).to(torch.uint8)
    labels = torch.arange(n) % 10
    labels = labels[torch.randperm(n, generator=torch.Generator().manual_seed(labels_seed))]
    # a label also written in the image, to check pairs stay together
    images[:, 0, 2] = labels.to(torch.uint8)
    return images, labels.to(torch.uint8)


def ids(images):
    return (images[:, 0, 0].long() + 256 * images[:, 0, 1].long()).tolist()


def make_split(seed=0, subset=None, validation_size=60):
    train_x, train_y = numbered(300)
    test_x, test_y = numbered(100, labels_seed=1)
    return data.split(train_x, train_y, test_x, test_y, validation_size, seed, CLASSES, subset)


def test_split_sizes_and_types():
    out = make_split()
    assert out["classes"] == CLASSES
    assert out["train_images"].shape == (240, 28, 28)
    assert out["validation_images"].shape == (60, 28, 28)
    assert out["test_images"].shape == (100, 28, 28)
    for part in ("train", "validation", "test"):
        assert out[f"{part}_images"].dtype == torch.uint8
        assert out[f"{part}_labels"].dtype == torch.long
        assert len(out[f"{part}_labels"]) == len(out[f"{part}_images"])
        # each label is still the one of its image
        assert out[f"{part}_labels"].tolist() == out[f"{part}_images"][:, 0, 2].long().tolist()


def test_split_train_validation_disjoint_and_complete():
    out = make_split()
    train, val = ids(out["train_images"]), ids(out["validation_images"])
    assert set(train).isdisjoint(val)
    assert sorted(train + val) == list(range(300))
    assert sorted(ids(out["test_images"])) == list(range(100))


def test_split_deterministic_for_a_seed():
    a, b = make_split(seed=5), make_split(seed=5)
    for key in a:
        if key != "classes":
            assert torch.equal(a[key], b[key]), key
    c = make_split(seed=6)
    assert set(ids(a["validation_images"])) != set(ids(c["validation_images"]))


def test_split_stratified_subset():
    subset = {"train": 50, "validation": 20, "test": 30}
    out = make_split(subset=subset)
    for part, n in subset.items():
        labels = out[f"{part}_labels"]
        assert len(labels) == len(out[f"{part}_images"]) == n
        assert torch.bincount(labels, minlength=10).tolist() == [n // 10] * 10, part
        assert labels.tolist() == out[f"{part}_images"][:, 0, 2].long().tolist()
    assert set(ids(out["train_images"])).isdisjoint(ids(out["validation_images"]))
    again = make_split(subset=subset)
    assert torch.equal(out["train_images"], again["train_images"])


def test_split_subset_of_one_part_only():
    out = make_split(subset={"train": 20, "validation": None})
    assert len(out["train_images"]) == 20
    assert len(out["validation_images"]) == 60 and len(out["test_images"]) == 100


def test_split_subset_too_large():
    with pytest.raises(DataError, match="subset of 1000"):
        make_split(subset={"test": 1000})


@pytest.mark.parametrize("size", [0, 300, -1])
def test_split_bad_validation_size(size):
    with pytest.raises(DataError, match="validation_size"):
        make_split(validation_size=size)


def test_split_checks_labels_and_counts():
    x, y = numbered(50)
    with pytest.raises(DataError, match="class names"):
        data.split(x, y, x, y, 10, 0, CLASSES[:5])
    with pytest.raises(DataError, match="differ in count"):
        data.split(x, y[:-1], x, y, 10, 0, CLASSES)


def test_tiny_split_fixture(tiny_split):
    assert len(tiny_split["train_images"]) == 240
    assert len(tiny_split["validation_images"]) == 60
    assert len(tiny_split["test_images"]) == 100


# --- save / load -----------------------------------------------------------------------


def test_save_load_round_trip(tmp_path, tiny_split):
    path = tmp_path / "sub" / "dataset.pt"
    data.save(tiny_split, path)
    raw = torch.load(path, weights_only=True)
    loaded = data.load(path)
    for obj in (raw, loaded):
        assert obj["classes"] == CLASSES
        for key, value in tiny_split.items():
            if key != "classes":
                assert torch.equal(obj[key], value) and obj[key].dtype == value.dtype, key
    assert [p.name for p in path.parent.iterdir()] == ["dataset.pt"]


def test_load_missing_part(tmp_path, tiny_split):
    path = tmp_path / "dataset.pt"
    data.save({k: v for k, v in tiny_split.items() if k != "test_labels"}, path)
    with pytest.raises(DataError, match="missing test_labels"):
        data.load(path)


def test_load_not_a_dataset(tmp_path):
    path = tmp_path / "dataset.pt"
    path.write_bytes(b"not a torch file")
    with pytest.raises(DataError, match=r"dataset\.pt"):
        data.load(path)
