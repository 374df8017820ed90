// The API reference page's one script (a file: the CSP allows no inline script). Swagger UI from
// swagger-ui-dist, served by the panel itself; no validator badge (it would call validator.swagger.io).
window.addEventListener('load', () => {
  window.ui = window.SwaggerUIBundle({
    url: '/api/v1/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    validatorUrl: null,
    tryItOutEnabled: false,
    persistAuthorization: false,
  });
});
