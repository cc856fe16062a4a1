"""GeoError carries a stable code, an English template and its parameters."""
from geo.errors import GeoError


def test_error_formats_its_template_with_params_for_str():
    err = GeoError("latitude_out_of_range", "Latitude %(lat)s is outside -90 to 90.", lat=91)

    assert err.code == "latitude_out_of_range"
    assert err.message == "Latitude %(lat)s is outside -90 to 90."
    assert err.params == {"lat": 91}
    assert str(err) == "Latitude 91 is outside -90 to 90."


def test_error_without_params_keeps_literal_percent_signs():
    assert str(GeoError("x", "100%% sure")) == "100% sure"


def test_error_is_a_value_error():
    assert isinstance(GeoError("x", "bad"), ValueError)
