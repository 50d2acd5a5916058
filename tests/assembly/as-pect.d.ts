// Editor/TypeScript typings for the as-pect globals (describe, it, expect, ...)
// used by the spec files. The AssemblyScript compiler does not read this file;
// as-pect.config.js adds the runtime that defines these globals.
/// <reference types="@as-pect/assembly/types/as-pect" />
