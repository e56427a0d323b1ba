/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The build goes into the Python package (src/riskengine/api/static/), so the wheel carries
// the page and the API serves it at "/". `npm run dev` proxies the API of `make run`.
export default defineConfig({
  plugins: [react()],
  base: "./",
  build: {
    outDir: "../src/riskengine/api/static",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: { "/api": { target: "http://127.0.0.1:8000", ws: true } },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
