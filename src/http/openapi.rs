//! `/openapi.json`: the OpenAPI 3.1 document, generated from the handlers' annotations (utoipa) so it
//! describes what the server really does. A test checks every documented operation is routed.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "snp — soins non programmés", description = "Publish, search, hold and book unscheduled-care slots."),
    paths(
        super::health::healthz, super::health::readyz,
        super::practices::create, super::practices::list, super::practices::get_one,
        super::professionals::create, super::professionals::list, super::professionals::get_one,
        super::slots::publish, super::slots::list, super::slots::get_one, super::slots::withdraw,
        super::api_keys::create, super::api_keys::list, super::api_keys::revoke,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("api_key", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
