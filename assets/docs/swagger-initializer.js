// Starts Swagger UI on /docs with this service's OpenAPI document. A file rather than an inline
// script, so that a Content-Security-Policy without 'unsafe-inline' still allows the page.
// The base layout (no standalone preset): the page documents this service only, so there is
// no top bar for loading other documents.
window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
};
