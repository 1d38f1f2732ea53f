"""Machine translation (argostranslate), segmentation, glossary and translation memory.

Empty until the translations issue; the package exists so the dependency layout is fixed:
flows -> channels, translations -> koho.
"""
