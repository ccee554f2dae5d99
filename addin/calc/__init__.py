"""客户分级 in LibreOffice Calc: the catalogue functions as a Calc add-in and the re-rating
button as a macro, shipped as one extension (``client_rating.oxt``). See docs/calc.md.

``functions``  the one adapter to the catalogue functions (used inside LibreOffice too)
``build``      the IDL, its type library (``unoidl-write``) and the .oxt; ``install`` (unopkg)
``source``     the open Calc document as a ``workbook.source.BookSource`` and the plan's writer
``ext/``       the extension's fixed files: the UNO component, the macros, the prebuilt .rdb
"""
