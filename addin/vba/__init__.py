"""Write ``vbaProject.bin`` files from VBA source text, in plain Python (MS-OVBA, MS-CFB).

    from addin.vba import Module, build_vba_project
    data = build_vba_project([Module.document("ThisWorkbook", workbook=True),
                              Module.standard("Buttons", 'Public Sub Hello()\\nEnd Sub\\n')])

No dependency beyond the standard library; nothing here knows about client-rating.
"""

from .cfb import CfbError, write_compound_file
from .compression import CompressionError, compress, decompress, raw_chunk_count
from .project import (
    DEFAULT_REFERENCES,
    OFFICE,
    STDOLE,
    Module,
    Reference,
    VbaProjectError,
    build_vba_project,
    decrypt,
    vba_text,
)

__all__ = [
    "DEFAULT_REFERENCES",
    "OFFICE",
    "STDOLE",
    "CfbError",
    "CompressionError",
    "Module",
    "Reference",
    "VbaProjectError",
    "build_vba_project",
    "compress",
    "decompress",
    "decrypt",
    "raw_chunk_count",
    "vba_text",
    "write_compound_file",
]
