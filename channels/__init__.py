"""Channels: one module (or small package) per place koho publishes to, and their registry.

A channel imports koho and nothing from another channel.
"""
