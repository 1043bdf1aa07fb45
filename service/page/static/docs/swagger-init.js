// Starts Swagger UI on /docs: a shipped file (static/docs/swagger-init.js) rather than the inline <script> FastAPI
// writes, so the docs page runs under a Content-Security-Policy without inline script
// (service/guard.py). The OpenAPI address comes from the element's data-openapi-url.
const element = document.getElementById("swagger-ui");
window.ui = window.SwaggerUIBundle({
  url: element.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
  presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset],
});
