"""Datasets as tf.data: synthetic generators (the embedded default) and real-data loaders."""

from zoo.data.sources import SOURCES, DataBundle, get_source, load_source, register_source

__all__ = ["SOURCES", "DataBundle", "get_source", "load_source", "register_source"]
