// pgpass (node-postgres' reader of ~/.pgpass) has no types of its own.
declare module 'pgpass' {
  function pgpass(
    connection: { host: string; port: number; database: string; user: string },
    callback: (password: string | undefined) => void,
  ): void;
  export default pgpass;
}
