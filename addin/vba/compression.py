"""MS-OVBA 2.4.1 compression and decompression (the LZ77 variant of VBA streams).

``compress`` follows the algorithm of MS-OVBA 2.4.1.3.6–2.4.1.3.19 step by step, so it produces
the bytes of the specification's worked examples (section 3.2). The only liberty taken is speed:
the "Matching" step (2.4.1.3.19.4) scans every earlier position of the chunk for the longest
match, nearest first, keeping a candidate only when it is strictly longer. We visit only the
earlier positions whose next three bytes are equal (a shorter match is never used) in the same
nearest-first order, and measure a match by comparing slices, which yields the same offset and
length as the byte-by-byte scan.

A chunk whose tokens do not fit in 4096 bytes is stored raw (flag 0), padded to 4096 bytes with
0x00 as 2.4.1.3.10 says. Text never needs that; ``raw_chunk_count`` lets a writer refuse it.
"""

from __future__ import annotations

CHUNK_SIZE = 4096  # decompressed bytes per chunk
_SIGNATURE = 0x01
_CHUNK_SIGNATURE = 0b011


class CompressionError(ValueError):
    """A compressed container that does not follow MS-OVBA 2.4.1."""


def _copy_token_help(difference: int) -> tuple[int, int, int]:
    """2.4.1.3.19.1 CopyToken Help: (length mask, bit count, maximum length)."""
    bit_count = max((difference - 1).bit_length(), 4)  # ceiling(log2(difference)), at least 4
    length_mask = 0xFFFF >> bit_count
    return length_mask, bit_count, length_mask + 3


def _match_length(buf: bytes, c: int, d: int, end: int) -> int:
    """Length of the common run of buf[c:] and buf[d:], at most end - d (c < d)."""
    limit = end - d
    lo, step = 0, 8
    while lo < limit:  # grow while equal, then bisect the last step
        hi = min(lo + step, limit)
        if buf[c + lo:c + hi] == buf[d + lo:d + hi]:
            lo = hi
            step *= 2
            continue
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if buf[c + lo:c + mid] == buf[d + lo:d + mid]:
                lo = mid
            else:
                hi = mid
        return lo if buf[c + lo] != buf[d + lo] else lo + 1
    return lo


def _compress_chunk(buf: bytes, start: int, end: int) -> tuple[bytes, bool]:
    """2.4.1.3.7: the chunk's tokens (without header) and whether they fit (else raw)."""
    out = bytearray()
    budget = CHUNK_SIZE  # CompressedEnd - (CompressedChunkStart + 2)
    cur = start
    index: dict[bytes, list[int]] = {}
    indexed = start  # positions below this are in ``index``
    while cur < end and len(out) < budget:
        flag_at = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if not (cur < end and len(out) < budget):
                break
            while indexed < cur:
                index.setdefault(buf[indexed:indexed + 3], []).append(indexed)
                indexed += 1
            best_len, best_pos = 0, -1
            if end - cur >= 3:
                most = end - cur
                for cand in reversed(index.get(buf[cur:cur + 3], ())):
                    n = _match_length(buf, cand, cur, end)
                    if n > best_len:
                        best_len, best_pos = n, cand
                        if n == most:
                            break
            if best_len >= 3:
                _, bit_count, max_len = _copy_token_help(cur - start)
                length = min(best_len, max_len)
                if len(out) + 1 < budget:
                    offset = cur - best_pos
                    token = ((offset - 1) << (16 - bit_count)) | (length - 3)
                    out += token.to_bytes(2, "little")
                    flags |= 1 << bit
                    cur += length
                else:
                    out.extend(b"\0" * (budget - len(out)))  # CompressedCurrent = CompressedEnd
            else:
                out.append(buf[cur])
                cur += 1
        out[flag_at] = flags
    if cur < end:
        return buf[start:end] + b"\0" * (CHUNK_SIZE - (end - start)), False
    return bytes(out), True


def compress(data: bytes) -> bytes:
    """MS-OVBA 2.4.1.3.6: a CompressedContainer holding ``data``."""
    data = bytes(data)
    out = bytearray([_SIGNATURE])
    pos = 0
    while pos < len(data):
        end = min(pos + CHUNK_SIZE, len(data))
        body, compressed = _compress_chunk(data, pos, end)
        header = (len(body) + 2 - 3) | (_CHUNK_SIGNATURE << 12) | (int(compressed) << 15)
        out += header.to_bytes(2, "little") + body
        pos = end
    return bytes(out)


def decompress(container: bytes) -> bytes:
    """MS-OVBA 2.4.1.3.1: the bytes held by a CompressedContainer."""
    buf = bytes(container)
    if not buf or buf[0] != _SIGNATURE:
        raise CompressionError("容器签名不是 0x01（不是 MS-OVBA 压缩数据）")
    out = bytearray()
    pos = 1
    while pos < len(buf):
        if pos + 2 > len(buf):
            raise CompressionError(f"第 {pos} 字节处的块头不完整")
        header = int.from_bytes(buf[pos:pos + 2], "little")
        if (header >> 12) & 0b111 != _CHUNK_SIGNATURE:
            raise CompressionError(f"第 {pos} 字节处的块签名不是 0b011")
        chunk_end = min(len(buf), pos + (header & 0x0FFF) + 3)
        cur = pos + 2
        chunk_start = len(out)
        if not header >> 15:  # raw chunk: 4096 bytes as they are
            out += buf[cur:cur + CHUNK_SIZE]
            pos = cur + CHUNK_SIZE
            continue
        while cur < chunk_end:
            flags = buf[cur]
            cur += 1
            for bit in range(8):
                if cur >= chunk_end:
                    break
                if not (flags >> bit) & 1:
                    out.append(buf[cur])
                    cur += 1
                    continue
                if cur + 2 > chunk_end:
                    raise CompressionError(f"第 {cur} 字节处的复制标记不完整")
                token = int.from_bytes(buf[cur:cur + 2], "little")
                cur += 2
                length_mask, bit_count, _ = _copy_token_help(len(out) - chunk_start)
                offset = (token >> (16 - bit_count)) + 1
                length = (token & length_mask) + 3
                src = len(out) - offset
                if src < chunk_start:
                    raise CompressionError(f"第 {cur - 2} 字节处的复制标记指向块之前")
                for k in range(length):  # byte by byte: a copy may overlap what it writes
                    out.append(out[src + k])
        pos = chunk_end
    return bytes(out)


def raw_chunk_count(container: bytes) -> int:
    """How many chunks of a CompressedContainer are stored raw (flag 0)."""
    pos, n = 1, 0
    while pos + 2 <= len(container):
        header = int.from_bytes(container[pos:pos + 2], "little")
        n += not header >> 15
        pos += (header & 0x0FFF) + 3
    return n
