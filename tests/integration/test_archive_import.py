"""Zip, upload and folder imports against the embedded MongoDB, including every bad archive."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import tracemalloc
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pymongo.database import Database
from pymongo.errors import AutoReconnect

from core.db.training_images import TrainingImageRepository
from core.errors import UserError
from core.labels import CAT_PHENOTYPE, DOG_BREED
from core.services.archive_import import ArchiveLimits, import_uploads, import_zip
from core.services.folder_import import import_folder
from tests.label_helpers import BLUE, NOT_CAT, RED_TABBY

REPO_ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


def picture(index: int, fmt: str = "JPEG", size: tuple[int, int] = (160, 120)) -> bytes:
    """A clearly distinct picture per index (random colour blocks, scaled up)."""
    blocks = np.random.default_rng(index).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    image = Image.fromarray(blocks).resize(size, Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def noise_jpeg(size: tuple[int, int] = (300, 250), seed: int = 7) -> bytes:
    """A JPEG that barely compresses (~100 KB)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def make_zip(members: Mapping[str | zipfile.ZipInfo, bytes], *, deflate: bool = False) -> bytes:
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def member_info(name: str, **attributes: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    for key, value in attributes.items():
        setattr(info, key, value)
    return info


def stored(database: Database) -> dict[str, dict]:
    """Every stored image document by filename."""
    return {doc["filename"]: doc for doc in database["training_images"].find()}


def reasons(report) -> dict[str, str]:
    return {o.filename: o.reason for o in report.rejected}


def zip_import(repo, data: bytes, **kwargs):
    kwargs.setdefault("schema", CAT_PHENOTYPE)
    kwargs.setdefault("by", "ann")
    return import_zip(repo, io.BytesIO(data), **kwargs)


# --- labelled and unlabelled folders ------------------------------------------------------


def test_zip_folders_named_like_labels_import_labelled(mongo_db: Database) -> None:
    archive = make_zip(
        {
            "blue/one.jpg": picture(1),
            "red_tabby_van/two.jpg": picture(2),
            "not_cat/three.jpg": picture(3),
            "cats/blue/four.jpg": picture(4),  # the wrapping folder is not a label
            "blue/holiday/five.jpg": picture(5),  # the deepest folder that is a label wins
            "blue/not_cat/six.jpg": picture(6),
            "loose.jpg": picture(7),
        }
    )

    report = zip_import(TrainingImageRepository(mongo_db), archive)

    assert report.added == 7 and not report.rejected
    docs = stored(mongo_db)
    assert docs["blue/one.jpg"]["label"] == BLUE
    assert docs["red_tabby_van/two.jpg"]["label"] == RED_TABBY
    assert docs["not_cat/three.jpg"]["label"] == NOT_CAT
    assert docs["cats/blue/four.jpg"]["label"] == BLUE
    assert docs["blue/holiday/five.jpg"]["label"] == BLUE
    assert docs["blue/not_cat/six.jpg"]["label"] == NOT_CAT
    assert docs["loose.jpg"]["label"] == {} and not docs["loose.jpg"]["is_labelled"]
    labelled = [d for d in docs.values() if d["label"]]
    assert all(d["is_labelled"] and d["labelled_by"] == "ann" for d in labelled)
    assert {d["source"] for d in docs.values()} == {"upload"}


def test_zip_folder_that_is_not_a_label_imports_unlabelled_and_says_so_once(
    mongo_db: Database,
) -> None:
    archive = make_zip({f"holiday/{i}.jpg": picture(i) for i in range(3)})

    report = zip_import(TrainingImageRepository(mongo_db), archive)

    assert report.added == 3
    assert all(not d["is_labelled"] and d["label"] == {} for d in stored(mongo_db).values())
    assert len(report.notes) == 1
    assert "'holiday/'" in report.notes[0] and "3 files" in report.notes[0]
    assert "does not start with a colour" in report.notes[0]


def test_zip_breed_folders_label_dogs(mongo_db: Database) -> None:
    archive = make_zip(
        {
            "beagle/a.jpg": picture(1),
            "Border_Collie/b.jpg": picture(2),
            "dogs/saint bernard/c.jpg": picture(3),
            "d.jpg": picture(4),
        }
    )

    report = zip_import(TrainingImageRepository(mongo_db), archive, schema=DOG_BREED)

    assert report.added == 4
    docs = stored(mongo_db)
    assert docs["beagle/a.jpg"]["label"] == {"breed": "beagle"}
    assert docs["Border_Collie/b.jpg"]["label"] == {"breed": "border collie"}
    assert docs["dogs/saint bernard/c.jpg"]["label"] == {"breed": "saint bernard"}
    assert docs["d.jpg"]["label"] == {}


def test_zip_every_image_suffix_and_case_is_imported(mongo_db: Database) -> None:
    archive = make_zip(
        {
            "blue/a.JPEG": picture(1),
            "blue/b.jpeg": picture(2),
            "blue/c.JPG": picture(3),
            "blue/d.png": picture(4, "PNG"),
            "blue/e.webp": picture(5, "WEBP"),
            "blue/f.gif": picture(6, "GIF"),
        },
        deflate=True,
    )

    report = zip_import(TrainingImageRepository(mongo_db), archive)

    assert report.added == 6, reasons(report)
    formats = {name: doc["format"] for name, doc in stored(mongo_db).items()}
    assert formats == {
        "blue/a.JPEG": "JPEG",
        "blue/b.jpeg": "JPEG",
        "blue/c.JPG": "JPEG",
        "blue/d.png": "PNG",
        "blue/e.webp": "WEBP",
        "blue/f.gif": "GIF",
    }


def test_zip_duplicates_are_skipped_and_counted(mongo_db: Database) -> None:
    repo = TrainingImageRepository(mongo_db)
    archive = make_zip({"blue/a.jpg": picture(1), "blue/copy.jpg": picture(1), "b.jpg": picture(2)})

    first = zip_import(repo, archive)
    again = zip_import(repo, archive)

    assert (first.added, first.duplicates) == (2, 1)
    assert (again.added, again.duplicates) == (0, 3)
    assert mongo_db["training_images"].count_documents({}) == 2
    assert "skipped 3 already stored" in again.summary()


def test_zip_near_duplicates_are_imported_and_flagged(mongo_db: Database) -> None:
    original = Image.open(io.BytesIO(picture(1, size=(320, 240))))
    recompressed = io.BytesIO()
    original.save(recompressed, "JPEG", quality=60)  # same picture, other bytes
    archive = make_zip({"a.jpg": picture(1, size=(320, 240)), "b.jpg": recompressed.getvalue()})

    report = zip_import(TrainingImageRepository(mongo_db), archive)

    assert report.added == 2 and report.near_duplicates == 1
    docs = stored(mongo_db)
    assert docs["b.jpg"]["near_duplicate_of"] == str(docs["a.jpg"]["_id"])
    assert docs["a.jpg"]["near_duplicate_of"] is None


def test_zip_progress_reports_every_member(mongo_db: Database) -> None:
    archive = make_zip({f"blue/{i}.jpg": picture(i) for i in range(4)} | {"notes.txt": b"hi"})
    calls: list[tuple[int, int, str]] = []

    zip_import(TrainingImageRepository(mongo_db), archive, progress=lambda *a: calls.append(a))

    assert [c[0] for c in calls] == [1, 2, 3, 4, 5]
    assert {c[1] for c in calls} == {5}
    assert calls[-1][2] == "notes.txt"


# --- bad archives and bad members ---------------------------------------------------------


def test_not_a_zip_is_refused_whole(mongo_db: Database) -> None:
    repo = TrainingImageRepository(mongo_db)
    upload = io.BytesIO(b"this is not a zip at all")
    upload.name = "photos.zip"  # as a Streamlit UploadedFile has

    with pytest.raises(UserError, match=r"'photos.zip' is not a zip archive or is damaged"):
        import_zip(repo, upload, schema=CAT_PHENOTYPE, by="ann")
    with pytest.raises(UserError, match="is not a zip archive or is damaged"):
        zip_import(repo, picture(1))
    assert mongo_db["training_images"].count_documents({}) == 0


def test_truncated_zip_is_refused_and_nothing_is_stored(mongo_db: Database) -> None:
    archive = make_zip({f"blue/{i}.jpg": picture(i) for i in range(5)})

    with pytest.raises(UserError, match="not a zip archive or is damaged"):
        zip_import(TrainingImageRepository(mongo_db), archive[: len(archive) // 2])
    assert mongo_db["training_images"].count_documents({}) == 0


def test_zip_with_too_many_entries_is_refused_before_any_member_is_read(
    mongo_db: Database,
) -> None:
    archive = make_zip({f"blue/{i}.jpg": picture(i) for i in range(11)})

    with pytest.raises(UserError, match=r"has 11 entries, over the limit of 10; split it"):
        zip_import(TrainingImageRepository(mongo_db), archive, limits=ArchiveLimits(max_entries=10))
    assert mongo_db["training_images"].count_documents({}) == 0


def test_zip_over_the_total_size_limit_is_refused_whole(mongo_db: Database) -> None:
    members = {f"{i}.jpg": picture(i) for i in range(3)}
    limit = sum(len(data) for data in members.values()) - 1

    with pytest.raises(UserError, match=r"would unpack to .* over the .* limit per archive"):
        zip_import(
            TrainingImageRepository(mongo_db),
            make_zip(members),
            limits=ArchiveLimits(max_total_bytes=limit),
        )
    assert mongo_db["training_images"].count_documents({}) == 0


def test_zip_member_over_the_size_limit_is_rejected_and_the_rest_imported(
    mongo_db: Database,
) -> None:
    big = noise_jpeg()
    archive = make_zip({"big.jpg": big, "small.jpg": picture(1)})

    report = zip_import(
        TrainingImageRepository(mongo_db), archive, limits=ArchiveLimits(max_member_bytes=50_000)
    )
    upload_limited = zip_import(TrainingImageRepository(mongo_db), archive, max_bytes=50_000)

    assert report.added == 1
    assert "unpacks to" in reasons(report)["big.jpg"]
    assert "over the 48.8 KB limit per file" in reasons(report)["big.jpg"]
    assert "over the" in reasons(upload_limited)["big.jpg"]
    assert list(stored(mongo_db)) == ["small.jpg"]


def test_zip_bomb_member_is_not_unpacked(mongo_db: Database) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.jpg", bytes(30 * MB))  # 30 MB of zeros: ~30 KB deflated
        archive.writestr("small-bomb.bmp", bytes(5 * MB))  # under the size limit, same ratio
        archive.writestr("fine.jpg", picture(1))

    report = zip_import(TrainingImageRepository(mongo_db), buffer.getvalue())

    assert report.added == 1
    for name in ("bomb.jpg", "small-bomb.bmp"):
        assert "possible zip bomb" in reasons(report)[name]
        assert "beyond the 100 to 1 limit" in reasons(report)[name]


def test_zip_unsafe_members_are_reported_and_never_imported(
    mongo_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    symlink = member_info("blue/link.jpg", external_attr=(stat.S_IFLNK | 0o777) << 16)
    archive = make_zip(
        {
            "../evil.jpg": picture(1),
            "/abs.jpg": picture(2),
            "blue/../../escape.jpg": picture(3),
            symlink: b"/etc/passwd",
            "inner.zip": make_zip({"x.jpg": picture(4)}),
            "more/photos.tar.gz": b"\x1f\x8b" + bytes(100),
            "x.7z": b"7z\xbc\xaf",
            "notes.txt": b"my cats",
            "blue/ok.jpg": picture(5),
        }
    )
    monkeypatch.chdir(tmp_path)  # anything written to a relative path would land here

    report = zip_import(TrainingImageRepository(mongo_db), archive)

    assert report.added == 1 and list(stored(mongo_db)) == ["blue/ok.jpg"]
    why = reasons(report)
    for name in ("../evil.jpg", "/abs.jpg", "blue/../../escape.jpg"):
        assert "unsafe path" in why[name]
    assert "symbolic link" in why["blue/link.jpg"]
    for name in ("inner.zip", "more/photos.tar.gz", "x.7z"):
        assert "archive inside the archive" in why[name]
    assert "is not an image" in why["notes.txt"]
    assert list(tmp_path.iterdir()) == []
    assert not (tmp_path.parent / "evil.jpg").exists()


def test_zip_encrypted_and_unusual_compression_members_are_rejected(mongo_db: Database) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("locked.jpg", picture(1))
        archive.getinfo("locked.jpg").flag_bits |= 0x1  # written to the central directory
        archive.writestr("bzip.jpg", picture(2), compress_type=zipfile.ZIP_BZIP2)
        archive.writestr("ok.jpg", picture(3))

    report = zip_import(TrainingImageRepository(mongo_db), buffer.getvalue())

    assert report.added == 1
    assert "password-protected" in reasons(report)["locked.jpg"]
    assert "unusual compression method" in reasons(report)["bzip.jpg"]


def test_zip_hidden_files_folders_and_mac_metadata_are_skipped_silently(
    mongo_db: Database,
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("blue/", b"")
        archive.writestr("blue/a.jpg", picture(1))
        archive.writestr("__MACOSX/blue/._a.jpg", b"\x00\x05\x16\x07")
        archive.writestr(".DS_Store", b"\x00\x00\x00\x01Bud1")
        archive.writestr("blue/.hidden.jpg", picture(2))
        archive.writestr("Thumbs.db", b"\xd0\xcf")

    report = zip_import(TrainingImageRepository(mongo_db), buffer.getvalue())

    assert [o.filename for o in report.outcomes] == ["blue/a.jpg"]
    assert report.added == 1


def test_zip_corrupt_third_member_keeps_the_others(mongo_db: Database) -> None:
    members = {f"blue/{i}.jpg": picture(i) for i in range(5)}
    members["blue/2.jpg"] = picture(2)[:700]  # a truncated JPEG inside a good zip
    archive = make_zip(members)

    report = zip_import(TrainingImageRepository(mongo_db), archive)

    assert report.added == 4
    assert "truncated or corrupt" in reasons(report)["blue/2.jpg"]
    assert "blue/2.jpg" not in stored(mongo_db)


def test_zip_member_with_damaged_data_is_rejected_and_the_rest_imported(
    mongo_db: Database,
) -> None:
    archive = bytearray(make_zip({f"blue/{i}.jpg": picture(i) for i in range(5)}))
    info = zipfile.ZipFile(io.BytesIO(bytes(archive))).getinfo("blue/2.jpg")
    data_start = info.header_offset + 30 + len(info.filename.encode())  # no extra field here
    archive[data_start + 200 : data_start + 210] = bytes(10)  # the CRC no longer matches

    report = zip_import(TrainingImageRepository(mongo_db), bytes(archive))

    assert report.added == 4
    assert "damaged inside the zip" in reasons(report)["blue/2.jpg"]
    assert "CRC" in reasons(report)["blue/2.jpg"]


class FailingRepository(TrainingImageRepository):
    """The real repository whose database connection drops at the third stored image."""

    def __init__(self, database: Database, fail_at: int) -> None:
        super().__init__(database)
        self.calls, self.fail_at = 0, fail_at

    def add(self, image):
        self.calls += 1
        if self.calls >= self.fail_at:
            raise AutoReconnect("connection closed")
        return super().add(image)


def test_database_failure_midway_keeps_what_was_stored_and_reports_the_rest(
    mongo_db: Database,
) -> None:
    archive = make_zip({f"blue/{i}.jpg": picture(i) for i in range(5)})

    report = zip_import(FailingRepository(mongo_db, fail_at=3), archive)

    assert report.added == 2
    assert sorted(stored(mongo_db)) == ["blue/0.jpg", "blue/1.jpg"]
    why = reasons(report)
    assert list(why) == ["blue/2.jpg", "blue/3.jpg", "blue/4.jpg"]
    assert all("database stopped answering at 'blue/2.jpg'" in r for r in why.values())


def test_zip_import_holds_one_member_at_a_time(mongo_db: Database, tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    members = [noise_jpeg(seed=i) for i in range(30)]
    with zipfile.ZipFile(path, "w") as archive:
        for i, member in enumerate(members):
            archive.writestr(f"{i}.jpg", member)
    del members
    tracemalloc.start()
    try:
        report = import_zip(TrainingImageRepository(mongo_db), path, schema=CAT_PHENOTYPE, by="a")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert report.added == 30
    assert peak < 10 * len(member), f"peak {peak} bytes for {len(member)}-byte members"


# --- loose uploads ------------------------------------------------------------------------


def test_uploads_take_the_chosen_label_and_zips_keep_their_folders(mongo_db: Database) -> None:
    zipped = io.BytesIO(make_zip({"red_tabby_van/z1.jpg": picture(10), "z2.jpg": picture(11)}))
    files = [
        ("a.jpg", picture(1)),
        ("b.png", io.BytesIO(picture(2, "PNG"))),
        ("more.zip", zipped),
        ("archive.tar", b"tar"),
        ("notes.txt", b"hello"),
    ]
    calls: list[tuple[int, int, str]] = []

    report = import_uploads(
        TrainingImageRepository(mongo_db),
        files,
        schema=CAT_PHENOTYPE,
        by="bob",
        label=BLUE,
        max_bytes=MB,
        progress=lambda *a: calls.append(a),
    )

    docs = stored(mongo_db)
    assert report.added == 4
    assert docs["a.jpg"]["label"] == BLUE and docs["a.jpg"]["labelled_by"] == "bob"
    assert docs["b.png"]["label"] == BLUE
    assert docs["red_tabby_van/z1.jpg"]["label"] == RED_TABBY
    assert docs["z2.jpg"]["label"] == BLUE
    why = reasons(report)
    assert "only .zip archives" in why["archive.tar"]
    assert "not an image" in why["notes.txt"]
    assert calls[-1][:2] == (6, 6)


def test_uploads_without_label_import_unlabelled(mongo_db: Database) -> None:
    report = import_uploads(
        TrainingImageRepository(mongo_db),
        [("a.jpg", picture(1))],
        schema=CAT_PHENOTYPE,
        by="bob",
        max_bytes=MB,
    )

    assert report.added == 1
    doc = stored(mongo_db)["a.jpg"]
    assert doc["label"] == {} and doc["labelled_by"] is None


def test_uploads_bad_zip_is_reported_and_the_other_files_imported(mongo_db: Database) -> None:
    files = [("broken.zip", b"PK\x03\x04 not really"), ("a.jpg", picture(1))]

    report = import_uploads(
        TrainingImageRepository(mongo_db), files, schema=CAT_PHENOTYPE, by="b", max_bytes=MB
    )

    assert report.added == 1
    assert "'broken.zip' is not a zip archive or is damaged" in reasons(report)["broken.zip"]


def test_uploads_too_large_and_corrupt_files_are_rejected(mongo_db: Database) -> None:
    files = [
        ("big.jpg", io.BytesIO(noise_jpeg())),
        ("cut.jpg", picture(1)[:500]),
        ("ok.jpg", picture(2)),
    ]

    report = import_uploads(
        TrainingImageRepository(mongo_db), files, schema=CAT_PHENOTYPE, by="b", max_bytes=50_000
    )

    assert report.added == 1
    assert "over the" in reasons(report)["big.jpg"]
    assert "truncated or corrupt" in reasons(report)["cut.jpg"]


def test_uploads_with_an_unknown_label_value_are_refused_before_storing(
    mongo_db: Database,
) -> None:
    with pytest.raises(UserError, match="Colour 'purple' is not known"):
        import_uploads(
            TrainingImageRepository(mongo_db),
            [("a.jpg", picture(1))],
            schema=CAT_PHENOTYPE,
            by="b",
            label={"is_cat": True, "colour": "purple"},
            max_bytes=MB,
        )
    assert mongo_db["training_images"].count_documents({}) == 0


# --- folder trees -------------------------------------------------------------------------


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_folder_tree_imports_labelled_and_never_follows_links_out(
    mongo_db: Database, tmp_path: Path
) -> None:
    root, outside = tmp_path / "photos", tmp_path / "outside"
    write(root / "blue" / "a.jpg", picture(1))
    write(root / "red_tabby_van" / "b.JPEG", picture(2))
    write(root / "not_cat" / "c.png", picture(3, "PNG"))
    write(root / "holiday" / "d.webp", picture(4, "WEBP"))
    write(root / ".git" / "e.jpg", picture(5))
    write(root / "blue" / ".f.jpg", picture(6))
    write(root / "blue" / "readme.txt", b"hi")
    write(outside / "secret.jpg", picture(7))
    write(outside / "folder" / "g.jpg", picture(8))
    (root / "blue" / "escape.jpg").symlink_to(outside / "secret.jpg")
    (root / "blue" / "inside.jpg").symlink_to(root / "blue" / "a.jpg")
    (root / "linked").symlink_to(outside / "folder", target_is_directory=True)
    os.mkfifo(root / "blue" / "pipe.jpg")  # would block a naive reader forever

    report = import_folder(
        TrainingImageRepository(mongo_db), root, schema=CAT_PHENOTYPE, by="ann", max_bytes=MB
    )

    docs = stored(mongo_db)
    assert sorted(docs) == ["blue/a.jpg", "holiday/d.webp", "not_cat/c.png", "red_tabby_van/b.JPEG"]
    assert docs["blue/a.jpg"]["label"] == BLUE
    assert docs["red_tabby_van/b.JPEG"]["label"] == RED_TABBY
    assert docs["not_cat/c.png"]["label"] == NOT_CAT
    assert docs["holiday/d.webp"]["label"] == {}
    assert {d["source"] for d in docs.values()} == {"folder"}
    assert report.duplicates == 1  # blue/inside.jpg links to blue/a.jpg inside the folder
    why = reasons(report)
    assert "outside the imported folder" in why["blue/escape.jpg"]
    assert "outside the imported folder" in why["linked"]
    assert "not a regular file" in why["blue/pipe.jpg"]
    assert "not an image" in why["blue/readme.txt"]
    assert any("'holiday/'" in note for note in report.notes)


def test_folder_breed_folders_label_dogs(mongo_db: Database, tmp_path: Path) -> None:
    write(tmp_path / "golden_retriever" / "a.jpg", picture(1))
    write(tmp_path / "pug" / "b.jpg", picture(2))

    report = import_folder(
        TrainingImageRepository(mongo_db), tmp_path, schema=DOG_BREED, by="ann", max_bytes=MB
    )

    assert report.added == 2
    labels = {name: doc["label"] for name, doc in stored(mongo_db).items()}
    assert labels == {
        "golden_retriever/a.jpg": {"breed": "golden retriever"},
        "pug/b.jpg": {"breed": "pug"},
    }


def test_folder_that_does_not_exist_or_is_a_file_is_refused(
    mongo_db: Database, tmp_path: Path
) -> None:
    repo = TrainingImageRepository(mongo_db)
    with pytest.raises(UserError, match=r"Folder '.*nope' does not exist; check the path"):
        import_folder(repo, tmp_path / "nope", schema=CAT_PHENOTYPE, by="a", max_bytes=MB)
    with pytest.raises(UserError, match="is not a folder"):
        import_folder(
            repo, write(tmp_path / "a.jpg", picture(1)), schema=CAT_PHENOTYPE, by="a", max_bytes=MB
        )


# --- the command line ---------------------------------------------------------------------


def run_job(args: list[str], mongo_uri: str, db_name: str, tmp_path: Path):
    env = os.environ | {"MONGO_URI": mongo_uri, "MONGO_DB": db_name, "DATA_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "jobs.import_images", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_imports_a_folder_tree_and_prints_the_report(
    mongo_db: Database, mongo_uri: str, mongo_db_name: str, tmp_path: Path
) -> None:
    root = tmp_path / "tree"
    write(root / "blue" / "a.jpg", picture(1))
    write(root / "blue" / "copy.jpg", picture(1))
    write(root / "not_cat" / "b.jpg", picture(2))
    write(root / "notes.txt", b"x")

    result = run_job([str(root), "--by", "carol"], mongo_uri, mongo_db_name, tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Added 2 images" in result.stdout
    assert "skipped 1 already stored" in result.stdout
    assert "notes.txt: 'notes.txt' is not an image" in result.stdout
    assert "4/4 files" in result.stderr  # the progress bar
    docs = stored(mongo_db)
    assert docs["blue/a.jpg"]["labelled_by"] == "carol"
    assert docs["blue/a.jpg"]["source"] == "folder"


def test_cli_imports_a_zip(
    mongo_db: Database, mongo_uri: str, mongo_db_name: str, tmp_path: Path
) -> None:
    path = tmp_path / "cats.zip"
    path.write_bytes(make_zip({"red_tabby_van/a.jpg": picture(1), "../evil.jpg": picture(2)}))

    result = run_job([str(path)], mongo_uri, mongo_db_name, tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Added 1 image," in result.stdout
    assert "../evil.jpg: '../evil.jpg' has an unsafe path" in result.stdout
    assert stored(mongo_db)["red_tabby_van/a.jpg"]["label"] == RED_TABBY


def test_cli_bad_path_exits_2_with_one_sentence(
    mongo_uri: str, mongo_db_name: str, tmp_path: Path
) -> None:
    missing = run_job([str(tmp_path / "nope")], mongo_uri, mongo_db_name, tmp_path)
    text = write(tmp_path / "notes.txt", b"x")
    wrong = run_job([str(text)], mongo_uri, mongo_db_name, tmp_path)

    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"error: {str(tmp_path / 'nope')!r} does not exist; give a folder of images or a .zip file."
    ]
    assert wrong.returncode == 2
    assert "is neither a folder, a .zip file nor an image" in wrong.stderr


@pytest.mark.slow
def test_thousand_image_zip_imports_without_holding_them_in_memory(mongo_db: Database) -> None:
    from jobs.bench.zip_import import measure_zip_import

    numbers = measure_zip_import(mongo_db, count=1000)

    assert numbers["added"] == 1000 and numbers["rejected"] == 0
    assert numbers["peak_rss_growth_mb"] < 60, numbers


def test_cli_imports_one_image(
    mongo_db: Database, mongo_uri: str, mongo_db_name: str, tmp_path: Path
) -> None:
    path = write(tmp_path / "Tom.JPEG", picture(3))

    result = run_job([str(path)], mongo_uri, mongo_db_name, tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Added 1 image," in result.stdout
    assert stored(mongo_db)["Tom.JPEG"]["label"] == {}
