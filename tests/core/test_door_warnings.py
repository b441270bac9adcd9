"""What a box's packer and rider are warned of: each allergy, then a texture that is not the
regular one; the packing list, the route sheet, the rider's page and chat all show this."""

import pytest

from core.diet import door_warnings, special_texture


@pytest.mark.parametrize(
    ("allergies", "texture", "expected"),
    [
        ((), "regular", ()),
        (("peanut",), "regular", ("peanut",)),
        ((), "minced", ("minced",)),
        (("fish", "egg"), "pureed", ("fish", "egg", "pureed")),
    ],
)
def test_each_allergy_then_a_texture_that_is_not_regular(allergies, texture, expected):
    assert door_warnings(allergies, texture) == expected
    assert special_texture(texture) == (None if texture == "regular" else texture)
