// Generates typed documents (src/gql/) and the persisted-documents manifest from the GraphQL
// operations written in src/**/*.ts, checked against the server's schema.graphql.
//
// src/gql/ is not committed: CI runs `npm run codegen` then `npm run typecheck`, so a schema
// change that breaks one of our documents fails there rather than in a user's build.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: ['src/**/*.ts', '!src/gql/**/*'],
  // A document that selects a missing field must fail the build, not be skipped.
  ignoreNoDocuments: false,
  emitLegacyCommonJSImports: false,
  generates: {
    './src/gql/': {
      preset: 'client',
      presetConfig: {
        // Type-safe enough without the `useFragment` unmasking step for a handful of documents.
        fragmentMasking: false,
        // persisted-documents.json: "sha256:<hex>" → the document text it hashes. The server
        // uses it as an allow-list; `hashAlgorithm` is spelled out because older presets
        // defaulted to sha1.
        persistedDocuments: { hashAlgorithm: 'sha256' },
      },
      config: {
        // Every custom scalar of schema.graphql must be mapped here: a new one fails codegen
        // instead of silently becoming `any`.
        strictScalars: true,
        scalars: {
          Date: 'string',
          DateTime: 'string',
          JSON: 'unknown',
        },
        // String unions rather than TS enums: no runtime code, and they work under
        // `erasableSyntaxOnly`/type stripping.
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
