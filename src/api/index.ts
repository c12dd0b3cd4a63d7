export { ChatCompletionRequest } from "./chat-completion-request.ts";
export type {
  ApiRoute,
  HttpMethod,
  OwnedResource,
  PathParamNames,
  ResponseMediaType,
  RouteBody,
  RouteBodyInput,
  RouteDeclaration,
  RouteParams,
  RouteQuery,
  RouteQueryInput,
  RouteResponse,
} from "./define-route.ts";
export { defineRoutes, pathParamNames } from "./define-route.ts";
export { Identifier, INSTANT_EXPECTED, instantOf, MAX_SEQ } from "./fields.ts";
export { encodeCursor } from "./list-cursor.ts";
export { openApiDocument } from "./openapi.ts";
export { API_ROUTE_LIST, API_ROUTES, type RouteName } from "./routes.ts";
