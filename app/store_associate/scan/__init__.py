"""Camera-frame barcode decoding and the rule that turns reads into accepted scans."""

from store_associate.scan.decode import DecodeResult, active_engines, decode_frame

__all__ = ["DecodeResult", "active_engines", "decode_frame"]
