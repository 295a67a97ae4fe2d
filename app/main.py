"""Flet entry point (what `flet run` and `flet build` start): the settings are read here, once, from the
environment (and FLET_APP_STORAGE_DATA, the packaged app's storage folder), and handed to the device."""

from store_associate.config import Settings
from store_associate.ui.app import start

if __name__ == "__main__":
    start(Settings())
