"""Tiny real documents for tests: a one-page PDF whose text is in Chinese (a Type 0 font with a
ToUnicode map, so any PDF reader can extract it) and a DOCX made of its XML parts."""
from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape


def pdf_with_text(*lines: str) -> bytes:
    """A valid PDF that shows ``lines``; each character's glyph id is its code point."""
    chars = sorted({c for line in lines for c in line})
    cmap = "\n".join([
        "/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def", "/CMapType 2 def",
        "1 begincodespacerange", "<0000> <FFFF>", "endcodespacerange",
        f"{len(chars)} beginbfchar",
        *(f"<{ord(c):04X}> <{c.encode('utf-16-be').hex().upper()}>" for c in chars),
        "endbfchar", "endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"])
    shown = "\n".join(f"1 0 0 1 72 {760 - 20 * n} Tm <{''.join(f'{ord(c):04X}' for c in line)}> Tj"
                      for n, line in enumerate(lines))
    content = f"BT /F1 12 Tf\n{shown}\nET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type0 /BaseFont /TestSong /Encoding /Identity-H "
        "/DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
        _stream(content),
        "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /TestSong /CIDToGIDMap /Identity "
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
        "/FontDescriptor 8 0 R /DW 1000 >>",
        _stream(cmap),
        "<< /Type /FontDescriptor /FontName /TestSong /Flags 4 /FontBBox [0 -120 1000 880] "
        "/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 700 /StemV 80 >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1"))
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def _stream(text: str) -> str:
    return f"<< /Length {len(text.encode('latin-1'))} >>\nstream\n{text}\nendstream"


def docx_with_text(*paragraphs: str, split_runs: bool = True) -> bytes:
    """A minimal Word document; each paragraph's text is split over two runs, as Word does."""
    def runs(text: str) -> str:
        parts = [text[: len(text) // 2], text[len(text) // 2:]] if split_runs else [text]
        return "".join(f'<w:r><w:t xml:space="preserve">{escape(p)}</w:t></w:r>' for p in parts if p)

    body = "".join(f"<w:p>{runs(p)}</w:p>" for p in paragraphs)
    document = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                f"<w:body>{body}</w:body></w:document>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                   'officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("word/document.xml", document)
    return out.getvalue()
