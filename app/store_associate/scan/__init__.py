"""Camera-frame barcode decoding and the rule that turns reads into accepted scans."""

from store_associate.scan.decode import DecodeResult, decode_frame
from store_associate.scan.engines import available_engines

__all__ = ["DecodeResult", "available_engines", "decode_frame"]
