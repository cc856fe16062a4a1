"""Zip archives (KMZ, zipped Shapefiles) opened as hostile input.

A zip's header says how large each member is, and a zip bomb lies: a few megabytes of
deflated zeros declared as a few kilobytes unpack to gigabytes. So the declared sizes are
only a first, cheap refusal; what counts is what the decompressor really produces, read in
small chunks and charged to the upload's `Budget` as it comes out. Encrypted members and
compression methods other than stored and deflate (the two every KMZ and Shapefile tool
writes; bzip2 and LZMA decompress without an output bound in `zipfile`) are refused before
a byte is decompressed, and a damaged archive is a clear refusal, never a crash.
"""
from __future__ import annotations

import copy
import io
import zipfile
import zlib
from collections.abc import Iterator

from common.i18n import N_
from geo.errors import GeoError
from geo.limits import Budget, raise_unzipped_too_large

CHUNK_BYTES = 64 * 1024
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}
_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", 99: "AES"}
# what zipfile and zlib raise on damaged data
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError,
            RuntimeError, KeyError, IndexError, OverflowError)


def open_zip(data: bytes, budget: Budget) -> zipfile.ZipFile:
    """The archive, after the checks that need no decompression: it is a zip, it holds few
    enough members, none encrypted, each stored or deflated, and they claim to fit."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _DAMAGED as exc:
        raise GeoError("bad_zip", N_("The zip file cannot be read: %(detail)s"),
                       detail=str(exc)[:200] or type(exc).__name__) from None
    infos = archive.infolist()
    try:
        if len(infos) > budget.limits.max_zip_members:
            raise GeoError("too_many_files",
                           N_("The zip file holds %(count)d files; a zone needs only a few (at most %(limit)d)."),
                           count=len(infos), limit=budget.limits.max_zip_members)
        for info in infos:
            if info.flag_bits & 0x1:
                raise GeoError("encrypted_zip",
                               N_("The zip file is protected by a password; zip the zone again without one."))
            if info.compress_type not in _METHODS:
                method = _METHOD_NAMES.get(info.compress_type, str(info.compress_type))
                raise GeoError(
                    "unsupported_compression",
                    N_("The zip file uses a compression method we do not read (%(method)s); zip the zone "
                       "again with the usual method (deflate)."),
                    method=method)
        if sum(info.file_size for info in infos) > budget.limits.max_unzipped_bytes:
            raise_unzipped_too_large(budget.limits.max_unzipped_bytes)
    except GeoError:
        archive.close()
        raise
    return archive


def member_chunks(archive: zipfile.ZipFile, name: str, budget: Budget) -> Iterator[bytes]:
    """One member's bytes as they come out of the decompressor, each chunk charged to the
    budget (so the first byte past the limit stops it, whatever the header claimed), the
    clock checked between chunks, and the CRC and declared size checked at the end."""
    info = archive.getinfo(name)
    # Let zipfile read past the declared size (which may be a lie) but not far past what the
    # budget has room for: the chunk that crosses the room is charged (and refused) before
    # zipfile reaches its own end, where it would check the CRC and call the data damaged.
    bounded = copy.copy(info)
    bounded.file_size = budget.unzip_room() + 2 * CHUNK_BYTES
    produced = 0
    try:
        with archive.open(bounded) as stream:
            while True:
                budget.check_time()
                chunk = stream.read(CHUNK_BYTES)
                if not chunk:
                    break
                produced += len(chunk)
                budget.charge_unzipped(len(chunk))
                yield chunk
    except GeoError:  # a limit crossed (GeoError is a ValueError: not "damaged")
        raise
    except _DAMAGED:
        raise _damaged(name) from None
    if produced != info.file_size:
        raise _damaged(name)


def read_member(archive: zipfile.ZipFile, name: str, budget: Budget) -> bytes:
    """A whole member, through `member_chunks` (so within the budget)."""
    return b"".join(member_chunks(archive, name, budget))


def _damaged(name: str) -> GeoError:
    return GeoError("corrupt_zip",
                    N_("The zip file is damaged (%(name)s cannot be unpacked); make the zip file again."),
                    name=name[:100])
