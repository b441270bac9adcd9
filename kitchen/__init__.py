"""kitchen"""
